// The sidecar in a real pod: a native sidecar (init container, restartPolicy Always) fronting the app,
// a Service whose targetPort is the sidecar's port, and activity recorded for what came through it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Deployment } from '@kubernetes/client-node';
import { SIDECAR_ADMIN_PORT, SIDECAR_CONTAINER_NAME, SIDECAR_ENV, SIDECAR_FIRST_PROXY_PORT, SIDECAR_PATHS, type ActivitySnapshot } from '../../core/sidecar-contract.ts';
import { get } from './support/http.ts';
import { createNamespace, kube, waitFor } from './support/kube.ts';

const APP_PORT = 8080;
const { core, apps } = kube();
let ns = '';

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
              lifecycle: { preStop: { httpGet: { path: SIDECAR_PATHS.drain, port: SIDECAR_ADMIN_PORT } } },
            },
          ],
        },
      },
    },
  };
}

beforeAll(async () => {
  ns = await createNamespace(core, 'sidecar-e2e');
});

afterAll(async () => {
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('the sidecar as a native sidecar', () => {
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
});
