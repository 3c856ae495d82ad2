// The local cluster behaves like a real one: Deployments become Available, Services route through
// kube-proxy from the host and from pods, pods share localhost, probes and restarts work.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { clusterFiles, clusterLayout } from '../cluster/layout.ts';
import { get } from './support/http.ts';
import { clusterKubectl, isNotFound, kube, onCluster } from './support/kube.ts';
import { createNamespace, uniqueName } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

// A tiny app: answers its pod name; /ready follows a switch that /toggle flips (for the readiness test).
const SERVER = `
let ready = true;
require('node:http').createServer((req, res) => {
  if (req.url === '/toggle') { ready = !ready; return res.end(String(ready)); }
  if (req.url === '/ready') { res.statusCode = ready ? 200 : 503; return res.end(); }
  res.end(process.env.HOSTNAME);
}).listen(8080);`;

const serverContainer: V1Container = {
  name: 'server',
  image: 'node',
  command: ['node', '-e', SERVER],
  ports: [{ name: 'http', containerPort: 8080 }],
  readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
};

function deployment(name: string, replicas: number, containers: V1Container[]): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers, terminationGracePeriodSeconds: 2 } },
    },
  };
}

const files = clusterFiles(clusterLayout());
let ns = '';
let clients: ReturnType<typeof kube>;

async function readyEndpoints(service: string): Promise<string[]> {
  const slices = await clients.discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => e.targetRef!.name!).sort();
}

async function podNames(app: string): Promise<string[]> {
  const pods = await clients.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
}

function podLog(pod: string, container: string): Promise<string> {
  return readFile(join(files.podLogs, `${ns}_${pod}`, `${container}.log`), 'utf8').catch(() => '');
}

onCluster('the local cluster', () => {
  let core: ReturnType<typeof kube>['core'];
  let apps: ReturnType<typeof kube>['apps'];

  beforeAll(async () => {
    clients = kube();
    ({ core, apps } = clients);
    ns = await createNamespace(clusterKubectl(), uniqueName('cluster-e2e'));
  });

  afterAll(async () => {
    if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('has a Ready node', async () => {
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => [n.metadata?.name, n.status?.conditions?.find((c) => c.type === 'Ready')?.status])).toEqual([['lull-node', 'True']]);
  });

  it('serves a two-replica Deployment through its ClusterIP, from the host and from another pod', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 2, [serverContainer]) });
    const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } } });
    const clusterIP = svc.spec!.clusterIP!;
    await waitFor('web to be Available with 2 replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      return d.status?.availableReplicas === 2 && d.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
    });
    const pods = await podNames('web');
    expect(pods).toHaveLength(2);
    await waitFor('both pods behind the Service', async () => (await readyEndpoints('web')).length === 2);

    const fromHost = new Set<string>();
    await waitFor('host requests to reach both pods', async () => {
      fromHost.add((await get(`http://${clusterIP}/`)).body);
      return fromHost.size === 2;
    }, 30_000, 0);
    expect([...fromHost].sort()).toEqual(pods);

    const client = `
      const http = require('node:http');
      const seen = new Set();
      const once = () => new Promise((ok, fail) => http.get({ host: process.env.WEB_SERVICE_HOST, port: 80, agent: false }, (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => ok(b)); }).on('error', fail));
      (async () => { for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(await once()); console.log(JSON.stringify([...seen].sort())); })();`;
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'client' }, spec: { restartPolicy: 'Never', containers: [{ name: 'client', image: 'node', command: ['node', '-e', client] }] } } });
    await waitFor('the client pod to finish', async () => {
      const phase = (await core.readNamespacedPod({ name: 'client', namespace: ns })).status?.phase;
      if (phase === 'Failed') throw new Error(`client pod failed: ${await podLog('client', 'client')}`);
      return phase === 'Succeeded';
    });
    expect(JSON.parse(await podLog('client', 'client'))).toEqual(pods);
  });

  it('lets a second container of a pod reach the first on localhost', async () => {
    const sidekick = `
      const try_ = () => require('node:http').get('http://localhost:8080/', (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => console.log('reached ' + b)); }).on('error', () => setTimeout(try_, 50));
      try_(); setInterval(() => {}, 1 << 30);`;
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'pair' }, spec: { containers: [serverContainer, { name: 'sidekick', image: 'node', command: ['node', '-e', sidekick] }] } } });
    const line = await waitFor('the second container to reach the first', async () => (await podLog('pair', 'sidekick')).match(/reached (\S+)/)?.[1]);
    expect(line).toBe('pair');
  });

  it('empties the endpoints when scaled to zero and fills them when scaled back', async () => {
    await apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
    await waitFor('no endpoints and no pods', async () => (await readyEndpoints('web')).length === 0 && (await podNames('web')).length === 0);
    await apps.patchNamespacedDeploymentScale({ name: 'web', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] });
    const endpoints = await waitFor('two ready endpoints again', async () => { const e = await readyEndpoints('web'); return e.length === 2 && e; });
    expect(endpoints).toEqual(await podNames('web'));
  });

  it('takes a pod whose readiness probe fails out of the endpoints', async () => {
    const [victim] = await podNames('web');
    const pod = await core.readNamespacedPod({ name: victim!, namespace: ns });
    expect((await get(`http://${pod.status!.podIP}:8080/toggle`)).body).toBe('false');
    await waitFor('the unready pod to leave the endpoints', async () => { const e = await readyEndpoints('web'); return e.length === 1 && !e.includes(victim!); });
    const status = await core.readNamespacedPod({ name: victim!, namespace: ns });
    expect(status.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await get(`http://${pod.status!.podIP}:8080/toggle`);
    await waitFor('the pod to come back', async () => (await readyEndpoints('web')).includes(victim!));
  });

  it('restarts a container whose process exits', async () => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'crasher' }, spec: { containers: [{ name: 'crash', image: 'node', command: ['node', '-e', 'console.log("up"); setTimeout(() => process.exit(3), 200)'] }] } } });
    const status = await waitFor('a restart', async () => {
      const s = (await core.readNamespacedPod({ name: 'crasher', namespace: ns })).status?.containerStatuses?.[0];
      return s && s.restartCount >= 1 && s;
    });
    expect(status.lastState?.terminated?.exitCode ?? status.state?.terminated?.exitCode).toBe(3);
    // The restart is recorded when the new process starts, which may be before it has printed.
    await waitFor('the restarted process to log', async () => ((await podLog('crasher', 'crash')).match(/^up$/gm)?.length ?? 0) >= 2);
  });

  it('runs preStop before SIGTERM and deletes the pod once it has stopped', async () => {
    const server = `
      require('node:http').createServer((req, res) => { console.log('hook ' + req.url); res.end(); }).listen(8080);
      process.on('SIGTERM', () => { console.log('sigterm'); process.exit(0); });`;
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'stopper' }, spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'node', command: ['node', '-e', server], lifecycle: { preStop: { httpGet: { path: '/prestop', port: 8080 } } }, readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] } } });
    // Ready, not just running: the app must be listening (and have its SIGTERM handler) before it is stopped.
    await waitFor('stopper ready', async () => (await core.readNamespacedPod({ name: 'stopper', namespace: ns })).status?.containerStatuses?.[0]?.ready === true);
    await core.deleteNamespacedPod({ name: 'stopper', namespace: ns });
    await waitFor('the pod to be gone', () => core.readNamespacedPod({ name: 'stopper', namespace: ns }).then(() => false, (err) => isNotFound(err)));
    expect((await podLog('stopper', 'app')).trim().split('\n')).toEqual(['hook /prestop', 'sigterm']);
  });

  it('gives pods a service-account token that in-cluster clients use to reach the apiserver', async () => {
    const client = `
      import('@kubernetes/client-node').then(async ({ KubeConfig, CoreV1Api }) => {
        const kc = new KubeConfig();
        kc.loadFromCluster();
        const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: process.env.NS });
        console.log('listed ' + pods.items.length);
      }).catch((err) => { console.log('failed ' + (err.code ?? err.message)); process.exit(1); });`;
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'in-cluster' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'node', command: ['node', '-e', client], env: [{ name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] }] } } });
    const phase = await waitFor('the in-cluster client to finish', async () => {
      const p = (await core.readNamespacedPod({ name: 'in-cluster', namespace: ns })).status?.phase;
      return (p === 'Succeeded' || p === 'Failed') && p;
    });
    // The default ServiceAccount has no RBAC to list pods: a 403 proves the token was sent and checked.
    expect({ phase, log: (await podLog('in-cluster', 'c')).trim() }).toEqual({ phase: 'Failed', log: 'failed 403' });
  });

  it('finishes deleting a namespace', async () => {
    const doomed = await createNamespace(clusterKubectl(), uniqueName('doomed'));
    await apps.createNamespacedDeployment({ namespace: doomed, body: deployment('web', 1, [serverContainer]) });
    await waitFor('the pod to run', async () => (await core.listNamespacedPod({ namespace: doomed })).items.some((p) => p.status?.phase === 'Running'));
    await core.deleteNamespace({ name: doomed });
    await waitFor('the namespace to be gone', () => core.readNamespace({ name: doomed }).then(() => false, (err) => isNotFound(err)), 90_000);
  });
});
