// The sidecar in a real pod: a native sidecar (init container, restartPolicy Always) fronting the app,
// a Service whose targetPort is the sidecar's port, and activity recorded for what came through it.
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { V1Deployment } from '@kubernetes/client-node';
import { SIDECAR_ADMIN_PORT, SIDECAR_CONTAINER_NAME, SIDECAR_DRAIN_TOKEN_HEADER, SIDECAR_ENV, SIDECAR_FIRST_PROXY_PORT, SIDECAR_PATHS, type ActivitySnapshot } from '../../core/sidecar-contract.ts';
import { get } from './support/http.ts';
import { clusterKubectl, isNotFound, kube, onCluster } from './support/kube.ts';
import { createNamespace, uniqueName } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const APP_PORT = 8080;
const DRAIN_TOKEN = 'e2e-drain-token-0123456789abcdef';

function deployment(): V1Deployment {
  return {
    metadata: { name: 'fronted' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'fronted' } },
      template: {
        metadata: { labels: { app: 'fronted' } },
        spec: {
          terminationGracePeriodSeconds: 5,
          initContainers: [
            {
              name: SIDECAR_CONTAINER_NAME,
              image: 'ghcr.io/lull-dev/lull',
              args: ['sidecar'],
              restartPolicy: 'Always',
              env: [
                { name: SIDECAR_ENV.ports, value: `${SIDECAR_FIRST_PROXY_PORT}=${APP_PORT}` },
                { name: SIDECAR_ENV.adminPort, value: String(SIDECAR_ADMIN_PORT) },
                { name: SIDECAR_ENV.drainQuiet, value: '200ms' },
                { name: SIDECAR_ENV.nodeIps, valueFrom: { fieldRef: { fieldPath: 'status.hostIPs' } } },
                { name: SIDECAR_ENV.drainToken, value: DRAIN_TOKEN },
              ],
              ports: [
                { name: 'lull-http', containerPort: SIDECAR_FIRST_PROXY_PORT },
                { name: 'lull-admin', containerPort: SIDECAR_ADMIN_PORT },
              ],
              readinessProbe: { httpGet: { path: SIDECAR_PATHS.ready, port: SIDECAR_ADMIN_PORT }, periodSeconds: 1 },
            },
          ],
          containers: [
            {
              name: 'app',
              image: 'node',
              command: ['node', 'test/fixtures/http-app.ts', '--port', String(APP_PORT), '--name', 'fronted-app'],
              ports: [{ name: 'http', containerPort: APP_PORT }],
              lifecycle: { preStop: { httpGet: { path: SIDECAR_PATHS.drain, port: SIDECAR_ADMIN_PORT, httpHeaders: [{ name: SIDECAR_DRAIN_TOKEN_HEADER, value: DRAIN_TOKEN }] } } },
            },
          ],
        },
      },
    },
  };
}

onCluster('the sidecar as a native sidecar', () => {
  let ns = '';
  let core: ReturnType<typeof kube>['core'];
  let apps: ReturnType<typeof kube>['apps'];

  beforeAll(async () => {
    ({ core, apps } = kube());
    ns = await createNamespace(clusterKubectl(), uniqueName('sidecar-e2e'));
  });

  afterAll(async () => {
    if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('serves the app through its Service and records the request as activity', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment() });
    const svc = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'fronted' }, spec: { selector: { app: 'fronted' }, ports: [{ name: 'http', port: 80, targetPort: SIDECAR_FIRST_PROXY_PORT }] } },
    });
    await waitFor('the Deployment to be Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'fronted', namespace: ns });
      return d.status?.availableReplicas === 1;
    }, 120_000);
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=fronted' });
    const podIP = pods.items[0]!.status!.podIP!;
    const admin = `http://${podIP}:${SIDECAR_ADMIN_PORT}`;
    const before = JSON.parse((await get(`${admin}${SIDECAR_PATHS.activity}`)).body) as ActivitySnapshot;
    expect(before.ready).toBe(true);

    const sentAt = Date.now();
    const reply = await waitFor('a request through the ClusterIP', async () => {
      const r = await get(`http://${svc.spec!.clusterIP}/info`);
      return r.status === 200 && r;
    }, 30_000);
    const info = JSON.parse(reply.body) as { name: string; remoteAddress: string; headers: Record<string, string> };
    expect(info.name).toBe('fronted-app');
    // The app was reached through the sidecar: from localhost, with the client's address forwarded.
    expect(info.remoteAddress).toBe('127.0.0.1');
    expect(info.headers['x-forwarded-for']).toBeTruthy();

    const after = JSON.parse((await get(`${admin}${SIDECAR_PATHS.activity}`)).body) as ActivitySnapshot;
    expect(after.requestsTotal).toBeGreaterThan(before.requestsTotal);
    expect(after.lastActivityAt).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(after.inFlight).toBe(0);
  });

  it("counts another pod's kube-probe requests and refuses its drain; the node's probes are not activity", async () => {
    const pod = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=fronted' })).items.find((p) => !p.metadata?.deletionTimestamp)!;
    const podIP = pod.status!.podIP!;
    const activity = async () => JSON.parse((await get(`http://${podIP}:${SIDECAR_ADMIN_PORT}${SIDECAR_PATHS.activity}`)).body) as ActivitySnapshot;
    // This test runs on the node: its requests to the pod come from the node's address, as the kubelet's do.
    const before = await activity();
    const fromNode = await new Promise<number>((resolve, reject) => {
      request(`http://${podIP}:${SIDECAR_FIRST_PROXY_PORT}/`, { headers: { 'User-Agent': 'kube-probe/1.36' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject).end();
    });
    expect(fromNode).toBe(200);
    expect((await activity()).requestsTotal).toBe(before.requestsTotal);

    // Another pod: a drain without the token is refused, and a kube-probe User-Agent is an ordinary request.
    const client = `
      const drain = await fetch('http://${podIP}:${SIDECAR_ADMIN_PORT}${SIDECAR_PATHS.drain}?quiet=1ms&max=1ms');
      const body = await drain.json();
      const probe = await fetch('http://${podIP}:${SIDECAR_FIRST_PROXY_PORT}/', { headers: { 'user-agent': 'kube-probe/1.36' } });
      process.exit(drain.status === 403 && body.code === 'LULL_DRAIN_FORBIDDEN' && probe.status === 200 ? 0 : 1);`;
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'forger' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'node', command: ['node', '--input-type=module', '-e', client] }] } } });
    const phase = await waitFor('the forging pod to finish', async () => {
      const p = (await core.readNamespacedPod({ name: 'forger', namespace: ns })).status?.phase;
      return (p === 'Succeeded' || p === 'Failed') && p;
    }, 60_000);
    expect(phase).toBe('Succeeded');
    const after = await activity();
    expect(after.requestsTotal).toBe(before.requestsTotal + 1);
    expect(after.draining).toBe(false);
  });

  it("drains on the pod's own preStop hook, which carries the token", async () => {
    const pod = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=fronted' })).items.find((p) => !p.metadata?.deletionTimestamp)!;
    const name = pod.metadata!.name!;
    await core.deleteNamespacedPod({ name, namespace: ns });
    await waitFor('the pod to be gone', () => core.readNamespacedPod({ name, namespace: ns }).then(() => false, (err) => isNotFound(err)), 60_000);
    // A refused hook would be recorded: the kubelet emits FailedPreStopHook ("HTTP probe returned 403").
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
    expect(events.items.filter((e) => e.reason === 'FailedPreStopHook').map((e) => e.message)).toEqual([]);
  });
});
