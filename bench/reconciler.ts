// Reconciler cost on the local cluster, medians over rounds:
//   1. time to settle and memory with 5,000 opted-in Deployments (most asleep): from starting
//      `lull reconciler` to every sleeping app routed to the interceptor (ports allocated, slices
//      written) and the work queue empty; cold (nothing written yet) and warm (a restart or a new
//      leader: everything already in place). Baselines measured in the same run: the same writes
//      made by a plain loop, as many at a time as the reconciler's workers (for cold), listing the
//      objects the reconciler caches (for warm), and the memory of a reconciler with no app.
//   2. idle queries per minute for the awake apps, against the one-per-idle-period ideal, and
//      against the fewest asks that can be exact for the traffic (each app's last request is 0.5 to
//      1.5 s old when asked, so the earliest moment it could be idle comes that much sooner than a
//      full period after the ask). Their sidecars are fakes on the host that report that trickle.
//   3. the interceptor beside it (unless --no-interceptor): a real `lull interceptor` on the host
//      (ports on 127.0.0.2), reading the route records the reconciler writes, probed on /readyz every
//      second with a 1 s timeout as its Deployment's readiness probe is (bench/probe.ts, from a worker
//      thread); missed and not-ready probes after it first answered ready, the slowest answer, its CPU
//      and RSS (from /proc). Cold: started (ready, no record yet) before the reconciler, it opens a port
//      per record as they are written. Warm: a new replica started with the reconciler, every record in
//      place: how long until it is ready, and whether it stays so. It runs only during the settles.
// Pods of the awake apps run nowhere: they are bound to a fake node (tainted, so nothing else lands
// there) whose heartbeat this script keeps, and their status is written here with the node's address,
// where one fake sidecar per app listens on its own admin port.
//   node bench/reconciler.ts [--apps 5000] [--awake 500] [--idle-after 10s] [--rounds 3] [--window 60] [--keep]
//                            [--no-interceptor] [--interceptor-port 19952]
//   node bench/reconciler.ts --clean      removes what an interrupted run left behind
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { parseDuration } from '../core/duration.ts';
import { isStatus, PATCH, type KubeClient } from '../core/kube-client.ts';
import { ensureNamespace } from '../core/prerequisites.ts';
import { benchKubeconfig, clusterOrExit } from './prerequisites.ts';
import { startProbe, type Probe, type ProbeReport } from './probe.ts';
import { clusterLayout, REPO_ROOT } from '../test/cluster/layout.ts';
import { inject } from '../webhook/inject.ts';
import { buildRouteRecord, formatInterceptorRoute, ROUTE_SELECTOR } from '../core/interceptor-contract.ts';
import { trimService, type ServiceObj } from '../core/objects.ts';
import { buildSlice, type InterceptorEndpoint } from '../reconciler/slices.ts';

const { values: args } = parseArgs({
  options: {
    apps: { type: 'string', default: '5000' },
    awake: { type: 'string', default: '500' },
    'idle-after': { type: 'string', default: '10s' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '60' },
    'admin-base': { type: 'string', default: '15000' },
    port: { type: 'string', default: '19951' },
    interceptor: { type: 'boolean', default: true },
    'interceptor-port': { type: 'string', default: '19952' },
    keep: { type: 'boolean', default: false },
    clean: { type: 'boolean', default: false },
  },
  allowNegative: true,
});
const APPS = Number(args.apps);
const AWAKE = Number(args.awake);
const IDLE_AFTER = args['idle-after'];
const IDLE_MS = parseDuration(IDLE_AFTER)!;
const ROUNDS = Number(args.rounds);
const WINDOW_S = Number(args.window);
const ADMIN_BASE = Number(args['admin-base']);
const METRICS_PORT = Number(args.port);
const INTERCEPTOR = args.interceptor;
const INTERCEPTOR_ADMIN = Number(args['interceptor-port']);
/** A loopback address of its own: 127.0.0.1 has the local cluster's components on ports in 20000-29999. */
const INTERCEPTOR_HOST = '127.0.0.2';
/** Probes a restarted interceptor answers at least, after its first ready answer. */
const WARM_PROBES = 10;
const PER_NAMESPACE = 500;
/** The reconciler's default --workers. */
const WORKERS = 8;
const NAMESPACES = Math.ceil(APPS / PER_NAMESPACE);
const SCOPE = 'bench.lull.dev/reconciler';
const NODE = 'lull-bench-node';
const TAINT = 'bench.lull.dev/only';
const ICPT_NS = 'lull-bench-icpt';
const LEASE = 'lull-bench-reconciler';
const ADDRESS = clusterLayout().gateway; // every fake pod answers at the node's (the host's) address
const kubeconfigPath = benchKubeconfig();
const kube: KubeClient = await clusterOrExit('bench/reconciler.ts', kubeconfigPath);

const nsName = (i: number) => `lull-bench-${Math.floor(i / PER_NAMESPACE)}`;
const isAwake = (i: number) => i % Math.round(APPS / AWAKE) === 0 && Math.floor(i / Math.round(APPS / AWAKE)) < AWAKE;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

async function ignore404<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isStatus(err, 404, 409)) return undefined;
    throw err;
  }
}

// ---- the fake node and its heartbeat ------------------------------------------------------------

async function createNode(): Promise<void> {
  await ignore404(kube.request('POST', '/api/v1/nodes', {
    body: { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, [SCOPE]: 'true' } }, spec: { taints: [{ key: TAINT, value: 'true', effect: 'NoSchedule' }] } },
  }));
  await heartbeat();
}

async function heartbeat(): Promise<void> {
  const now = new Date().toISOString();
  const capacity = { cpu: '1000', memory: '4Ti', pods: String(AWAKE + 50) };
  await kube.request('PATCH', `/api/v1/nodes/${NODE}/status`, {
    contentType: PATCH.merge,
    body: {
      status: {
        capacity,
        allocatable: capacity,
        addresses: [{ type: 'InternalIP', address: ADDRESS }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'bench', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    },
  });
  const micro = now.replace('Z', '000Z');
  const lease = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`;
  const spec = { holderIdentity: NODE, leaseDurationSeconds: 40, renewTime: micro };
  try {
    await kube.request('PATCH', lease, { contentType: PATCH.merge, body: { spec } });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    await kube.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: NODE }, spec } });
  }
}

// ---- the apps ----------------------------------------------------------------------------------

function deployment(i: number): V1Deployment {
  const name = `app-${i}`;
  const awake = isAwake(i);
  const base: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: nsName(i), annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': IDLE_AFTER } },
    spec: {
      replicas: awake ? 1 : 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': NODE },
          tolerations: [{ key: TAINT, operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'app', image: 'ghcr.io/acme/app:1.0', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
        },
      },
    },
  };
  const d = inject(base, { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' });
  const annotations = d.metadata!.annotations!;
  if (awake) {
    annotations['lull.dev/state'] = 'awake';
    // One fake sidecar per app on the host: each app's sidecar gets its own admin port.
    const sidecar = d.spec!.template!.spec!.initContainers!.find((c) => c.name === 'lull-sidecar')!;
    sidecar.ports!.find((p) => p.name === 'lull-admin')!.containerPort = ADMIN_BASE + awakeIndex(i);
  } else {
    Object.assign(annotations, { 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '1', 'lull.dev/slept-at': new Date().toISOString() });
  }
  return d;
}

const awakeIndex = (i: number) => Math.floor(i / Math.round(APPS / AWAKE));

function service(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `app-${i}`, namespace: nsName(i), annotations: { 'lull.dev/original-target-ports': '{"80":"http"}' } },
    // Headless: the local cluster's Service range is a /24, far fewer ClusterIPs than apps. The
    // reconciler treats them alike (and kube-proxy is spared 5,000 Services).
    spec: { clusterIP: 'None', selector: { app: `app-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 'lull-8080' }] },
  };
}

async function setUp(): Promise<void> {
  const t0 = performance.now();
  await createNode();
  for (let n = 0; n < NAMESPACES; n++) {
    await ignore404(kube.request('POST', '/api/v1/namespaces', { body: { metadata: { name: `lull-bench-${n}`, labels: { [SCOPE]: 'true' } } } }));
  }
  await ignore404(kube.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ICPT_NS } } }));
  await ignore404(kube.request('POST', `/api/v1/namespaces/${ICPT_NS}/pods`, {
    body: {
      metadata: { name: 'interceptor', labels: { 'app.kubernetes.io/name': 'lull-interceptor' } },
      spec: { nodeName: NODE, tolerations: [{ key: TAINT, operator: 'Exists' }], containers: [{ name: 'interceptor', image: 'ghcr.io/lull-dev/lull:0.1.0' }] },
    },
  }));
  await markRunning(ICPT_NS, 'interceptor');
  const indexes = Array.from({ length: APPS }, (_, i) => i);
  await pool(indexes, 24, async (i) => {
    await ignore404(kube.request('POST', `/apis/apps/v1/namespaces/${nsName(i)}/deployments`, { body: deployment(i) }));
    await ignore404(kube.request('POST', `/api/v1/namespaces/${nsName(i)}/services`, { body: service(i) }));
  });
  console.error(`created ${APPS} Deployments and Services in ${((performance.now() - t0) / 1000).toFixed(1)}s; waiting for ${AWAKE} pods`);
  // The awake apps' pods: created by the ReplicaSets, bound to the fake node, marked running here.
  const marked = new Set<string>();
  const deadline = Date.now() + 600_000;
  while (marked.size < AWAKE) {
    if (Date.now() > deadline) throw new Error(`only ${marked.size} of ${AWAKE} pods were scheduled`);
    const pods: Array<{ metadata: { name: string; namespace: string }; spec: { nodeName?: string }; status?: { phase?: string } }> = [];
    for (let n = 0; n < NAMESPACES; n++) pods.push(...((await kube.request<{ items: typeof pods }>('GET', `/api/v1/namespaces/lull-bench-${n}/pods`)).items));
    const todo = pods.filter((p) => p.spec.nodeName === NODE && !marked.has(`${p.metadata.namespace}/${p.metadata.name}`));
    await pool(todo, 24, async (p) => {
      await markRunning(p.metadata.namespace, p.metadata.name);
      marked.add(`${p.metadata.namespace}/${p.metadata.name}`);
    });
    if (marked.size < AWAKE) await sleep(1000);
  }
  console.error(`set up in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

async function markRunning(namespace: string, name: string): Promise<void> {
  const now = new Date().toISOString();
  const conditions = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now }));
  await kube.request('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    contentType: PATCH.merge,
    body: { status: { phase: 'Running', hostIP: ADDRESS, podIP: ADDRESS, podIPs: [{ ip: ADDRESS }], startTime: now, conditions } },
  });
}

async function tearDown(): Promise<void> {
  // Every bench namespace there is, whatever --apps this run was given.
  const all = await kube.request<{ items: Array<{ metadata: { name: string } }> }>('GET', '/api/v1/namespaces', { query: { labelSelector: SCOPE }, timeoutMs: 60_000 });
  const namespaces = [...new Set([...all.items.map((n) => n.metadata.name), ICPT_NS])];
  const settled = <T>(p: Promise<T>) => ignore404(p).catch((err: Error) => console.error(`cleanup: ${err.message}`));
  // Deployments first, so no ReplicaSet makes new pods; then the pods, without grace: no kubelet
  // will ever finish them. Then the namespaces, the node and the leases.
  for (const ns of namespaces) await settled(kube.request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments`, { query: { propagationPolicy: 'Background' }, timeoutMs: 120_000 }));
  for (const ns of namespaces) await settled(kube.request('DELETE', `/api/v1/namespaces/${ns}`, { timeoutMs: 60_000 }));
  for (let pass = 0; pass < 60; pass++) {
    let left = 0;
    for (const ns of namespaces) {
      const pods = await settled(kube.request<{ items: Array<{ metadata: { name: string } }> }>('GET', `/api/v1/namespaces/${ns}/pods`, { timeoutMs: 60_000 }));
      left += pods?.items.length ?? 0;
      await pool(pods?.items ?? [], 24, (p) => settled(kube.request('DELETE', `/api/v1/namespaces/${ns}/pods/${p.metadata.name}`, { query: { gracePeriodSeconds: '0' }, timeoutMs: 30_000 })));
    }
    if (left === 0) break;
    await sleep(1000);
  }
  await settled(kube.request('DELETE', `/api/v1/nodes/${NODE}`));
  await settled(kube.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`));
  await settled(kube.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/lull-system/leases/${LEASE}`));
}

/** Back to nothing written by the reconciler: no interceptor slices, no interceptor ports. */
async function unroute(): Promise<void> {
  for (let n = 0; n < NAMESPACES; n++) {
    await kube.request('DELETE', `/apis/discovery.k8s.io/v1/namespaces/lull-bench-${n}/endpointslices`, { query: { labelSelector: 'endpointslice.kubernetes.io/managed-by=reconciler.lull.dev' }, timeoutMs: 60_000 });
  }
  await pool(Array.from({ length: APPS }, (_, i) => i), 24, (i) =>
    kube.request('PATCH', `/api/v1/namespaces/${nsName(i)}/services/app-${i}`, { contentType: PATCH.merge, body: { metadata: { annotations: { 'lull.dev/interceptor-ports': null } } } }),
  );
  // The route records, which the interceptor ports come from.
  await kube.request('DELETE', '/api/v1/namespaces/lull-system/configmaps', { query: { labelSelector: ROUTE_SELECTOR }, timeoutMs: 60_000 });
}

// ---- the fake sidecars -------------------------------------------------------------------------

const asked = new Uint32Array(AWAKE);
const trickleAgo = (k: number) => 500 + (k % 11) * 100;

async function startSidecars(): Promise<Server[]> {
  const servers: Server[] = [];
  const startedAt = Date.now();
  for (let k = 0; k < AWAKE; k++) {
    const server = createServer((req, res) => {
      req.resume();
      asked[k]!++;
      const now = Date.now();
      // A steady trickle: the last request arrived 0.5 to 1.5 s ago, depending on the app.
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ lastActivityAt: now - trickleAgo(k), inFlight: 0, requestsInFlight: 0, connectionsInFlight: 0, requestsTotal: 1, connectionsTotal: 0, ready: true, draining: false, startedAt, now }));
    });
    server.listen(ADMIN_BASE + k, ADDRESS);
    await once(server, 'listening');
    servers.push(server);
  }
  return servers;
}

const totalAsked = () => asked.reduce((a, b) => a + b, 0);

// ---- the reconciler under test -----------------------------------------------------------------

function startReconciler(): ChildProcess {
  return spawn(
    process.execPath,
    [
      resolve(REPO_ROOT, 'bin/lull.ts'),
      'reconciler',
      ...['--kubeconfig', kubeconfigPath, '--host', '127.0.0.1', '--port', String(METRICS_PORT), '--lease-name', LEASE, '--identity', 'bench'],
      ...['--namespace-selector', `${SCOPE}=true`, '--interceptor-namespace', ICPT_NS],
    ],
    { env: { ...process.env, LULL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

async function stopReconciler(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

// ---- the interceptor under test ----------------------------------------------------------------

interface InterceptorRun {
  child: ChildProcess;
  probe: Probe;
}

/** A real `lull interceptor` on the host, reading the route records the reconciler writes, probed from now on. */
function startInterceptor(): InterceptorRun {
  const child = spawn(
    process.execPath,
    [
      resolve(REPO_ROOT, 'bin/lull.ts'),
      'interceptor',
      ...['--kubeconfig', kubeconfigPath, '--host', INTERCEPTOR_HOST, '--admin-port', String(INTERCEPTOR_ADMIN), '--namespace', 'lull-system'],
      ...['--shutdown-delay', '0s', '--grace', '1s'],
    ],
    { env: { ...process.env, LULL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { child, probe: startProbe(`http://127.0.0.1:${INTERCEPTOR_ADMIN}/readyz`, child.pid!) };
}

async function stopInterceptor(run: InterceptorRun): Promise<ProbeReport> {
  const report = await run.probe.report();
  await run.probe.stop();
  if (run.child.exitCode === null) {
    run.child.kill('SIGTERM');
    await once(run.child, 'exit');
  }
  return report;
}

/** Its port count from /metrics, read once a settle is over (a scrape is work the probes should not share). */
async function interceptorListeners(): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    const req = request({ host: '127.0.0.1', port: INTERCEPTOR_ADMIN, path: '/metrics', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolvePromise(Number(/^lull_interceptor_listeners (\d+)/m.exec(body)?.[1] ?? NaN)));
    });
    req.on('error', () => resolvePromise(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function metrics(): Promise<Map<string, number>> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port: METRICS_PORT, path: '/metrics', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const out = new Map<string, number>();
        for (const line of body.split('\n')) {
          if (line.startsWith('#') || !line) continue;
          const i = line.lastIndexOf(' ');
          out.set(line.slice(0, i), Number(line.slice(i + 1)));
        }
        resolvePromise(out);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function readyz(): Promise<{ leaseProblem?: { message: string; lasting: boolean } }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port: METRICS_PORT, path: '/readyz', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolvePromise(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Settle {
  ms: number;
  rssMiB: number;
  heapMiB: number;
  cpuS: number;
  sliceCreates: number;
}

/** Starts a reconciler and waits until it leads, has reconciled every app and has nothing left to do. */
async function settle(expectCreates: number, apps = APPS): Promise<{ child: ChildProcess; result: Settle }> {
  const t0 = performance.now();
  const child = startReconciler();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the reconciler exited (${child.exitCode})`);
    const m = await metrics().catch(() => undefined);
    // A reconciler that cannot take its Lease never leads: say why instead of waiting forever.
    if (m?.get('lull_reconciler_leader') !== 1 && [...(m?.keys() ?? [])].some((k) => k.startsWith('lull_reconciler_lease_errors_total{code="40'))) {
      const ready = await readyz().catch(() => undefined);
      if (ready?.leaseProblem?.lasting) {
        await stopReconciler(child);
        throw new Error(ready.leaseProblem.message);
      }
    }
    const reconciles = (m?.get('lull_reconciler_reconciles_total{outcome="ok"}') ?? 0) + (m?.get('lull_reconciler_reconciles_total{outcome="error"}') ?? 0);
    const creates = m?.get('lull_reconciler_slice_writes_total{operation="create"}') ?? 0;
    if (m?.get('lull_reconciler_leader') === 1 && reconciles >= apps && m.get('lull_reconciler_queue_depth') === 0 && creates >= expectCreates) {
      const ms = performance.now() - t0;
      return {
        child,
        result: {
          ms,
          rssMiB: m.get('lull_reconciler_process_resident_memory_bytes')! / 2 ** 20,
          heapMiB: m.get('lull_reconciler_nodejs_heap_size_used_bytes')! / 2 ** 20,
          cpuS: m.get('lull_reconciler_process_cpu_seconds_total')!,
          sliceCreates: creates,
        },
      };
    }
    await sleep(250);
  }
}

/** Baseline: one paginated list of everything the reconciler caches, as its informers do. */
async function listBaseline(): Promise<number> {
  const t0 = performance.now();
  for (const path of ['/api/v1/namespaces', '/apis/apps/v1/deployments', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/api/v1/pods']) {
    let token: string | undefined;
    do {
      const page = await kube.request<{ metadata?: { continue?: string } }>('GET', path, { query: { limit: '500', continue: token }, timeoutMs: 60_000 });
      token = page.metadata?.continue || undefined;
    } while (token);
  }
  return performance.now() - t0;
}

/** Baseline: the writes of a cold settle, from a plain loop, as many at a time as the reconciler's workers. */
async function rawWrites(): Promise<number> {
  const services = new Map<string, ServiceObj>();
  for (let n = 0; n < NAMESPACES; n++) {
    const list = await kube.request<{ items: V1Service[] }>('GET', `/api/v1/namespaces/lull-bench-${n}/services`, { timeoutMs: 60_000 });
    for (const s of list.items) services.set(`${s.metadata!.namespace}/${s.metadata!.name}`, trimService(s));
  }
  const interceptor: InterceptorEndpoint = { name: 'interceptor', namespace: ICPT_NS, uid: 'bench', ip: ADDRESS };
  const t0 = performance.now();
  await pool(Array.from({ length: APPS }, (_, i) => i), WORKERS, async (i) => {
    const service = services.get(`${nsName(i)}/app-${i}`)!;
    const route = { deployment: `app-${i}`, ports: { http: 20000 + i } };
    await kube.request('POST', '/api/v1/namespaces/lull-system/configmaps', { body: buildRouteRecord({ port: 20000 + i, namespace: nsName(i), service: `app-${i}`, deployment: `app-${i}`, servicePort: 'http', portName: 'http' }, 'lull-system') });
    await kube.request('PATCH', `/api/v1/namespaces/${nsName(i)}/services/app-${i}`, { contentType: PATCH.merge, body: { metadata: { annotations: { 'lull.dev/interceptor-ports': formatInterceptorRoute(route) } } } });
    if (!isAwake(i)) await kube.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${nsName(i)}/endpointslices`, { body: buildSlice(service, route, [interceptor]) });
  });
  return performance.now() - t0;
}

/** Baseline: a reconciler with no app to manage, on the cluster before the bench's objects exist. */
async function idleMemory(): Promise<Settle> {
  const { child, result } = await settle(0, 0);
  await stopReconciler(child);
  return result;
}

// ---- main --------------------------------------------------------------------------------------

const describe = (p: ProbeReport) =>
  `ready after ${p.readyAfterMs === undefined ? 'never' : secs(p.readyAfterMs)}, then ${p.misses} of ${p.probes} probes missed, ${p.notReady} not ready, slowest ${p.maxMs.toFixed(0)}ms; ${p.cpuS.toFixed(1)} s CPU, RSS ${p.rssMiB.toFixed(0)} MiB (peak ${p.peakRssMiB.toFixed(0)})`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const row = (label: string, xs: number[], fmt: (x: number) => string, extra = '') => console.log(`${label.padEnd(46)} median ${fmt(median(xs)).padStart(9)}   (${xs.map(fmt).join(' ')})${extra}`);

/** A previous run's namespaces may still be terminating: creating into them would measure leftovers. */
async function waitForClean(): Promise<void> {
  for (let waited = 0; ; waited++) {
    const left = await kube.request<{ items: unknown[] }>('GET', '/api/v1/namespaces', { query: { labelSelector: SCOPE } });
    const icpt = await ignore404(kube.request('GET', `/api/v1/namespaces/${ICPT_NS}`));
    if (left.items.length === 0 && icpt === undefined) return;
    if (waited === 0) console.error(`waiting for ${left.items.length} namespaces of an earlier run to go (or run --clean)`);
    if (waited > 600) throw new Error('namespaces of an earlier run are still there after 10 minutes');
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  // Interrupted: still leave the cluster as it was.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`${sig}: cleaning up`);
      void (args.keep ? Promise.resolve() : tearDown()).finally(() => process.exit(130));
    });
  }
  console.error(`reconciler bench: ${APPS} opted-in Deployments, ${AWAKE} awake (idle-after ${IDLE_AFTER}), ${ROUNDS} rounds`);
  const beat = setInterval(() => void heartbeat().catch((err: Error) => console.error(`heartbeat: ${err.message}`)), 10_000);
  let sidecars: Server[] = [];
  let child: ChildProcess | undefined;
  let icpt: InterceptorRun | undefined;
  try {
    await waitForClean();
    // The reconciler's Lease lives in lull-system (its --namespace); a fresh cluster has none.
    if (await ensureNamespace(kube, 'lull-system')) console.error('created namespace lull-system for the leader Lease');
    const empty = await idleMemory();
    console.error(`a reconciler with no app: ${empty.rssMiB.toFixed(0)} MiB RSS, ${empty.heapMiB.toFixed(0)} MiB heap`);
    await setUp();
    sidecars = await startSidecars();
    const baseline: number[] = [];
    const raw: number[] = [];
    const cold: Settle[] = [];
    const warm: Settle[] = [];
    const perMinute: number[] = [];
    const icptCold: ProbeReport[] = [];
    const icptWarm: ProbeReport[] = [];
    const sleeping = APPS - AWAKE;
    for (let r = 0; r < ROUNDS; r++) {
      baseline.push(await listBaseline());
      await unroute();
      raw.push(await rawWrites());
      await unroute();
      // Cold: an interceptor already ready (no route record yet) follows the records as they are written.
      if (INTERCEPTOR) {
        icpt = startInterceptor();
        while ((await icpt.probe.report()).readyAfterMs === undefined) {
          if (icpt.child.exitCode !== null) throw new Error(`the interceptor exited (${icpt.child.exitCode})`);
          await sleep(200);
        }
      }
      const c = await settle(sleeping);
      cold.push(c.result);
      await stopReconciler(c.child);
      console.error(`round ${r + 1}: raw writes ${secs(raw.at(-1)!)}, cold ${secs(c.result.ms)} (${c.result.sliceCreates} slices, ${c.result.cpuS.toFixed(1)} s CPU), ${c.result.rssMiB.toFixed(0)} MiB`);
      if (icpt) {
        const ports = await interceptorListeners();
        icptCold.push(await stopInterceptor(icpt));
        icpt = undefined;
        console.error(`round ${r + 1}: interceptor, cold: ${describe(icptCold.at(-1)!)}; listening on ${ports} ports`);
        // Warm: a new interceptor replica starts with every route record in place, as the reconciler restarts.
        icpt = startInterceptor();
      }
      const w = await settle(0);
      warm.push(w.result);
      child = w.child;
      console.error(`round ${r + 1}: warm ${secs(w.result.ms)}, ${w.result.rssMiB.toFixed(0)} MiB`);
      if (icpt) {
        // It may still be opening its ports when the reconciler is done: probed until ready, then 10 s more.
        while ((await icpt.probe.report()).probes < WARM_PROBES && icpt.child.exitCode === null) await sleep(250);
        const ports = await interceptorListeners();
        icptWarm.push(await stopInterceptor(icpt));
        icpt = undefined;
        console.error(`round ${r + 1}: interceptor, warm: ${describe(icptWarm.at(-1)!)}; listening on ${ports} ports`);
      }
      // Idle queries: after one idle period of warm-up, count what the sidecars are asked.
      await sleep(IDLE_MS + 2000);
      const before = totalAsked();
      await sleep(WINDOW_S * 1000);
      perMinute.push(((totalAsked() - before) * 60) / WINDOW_S);
      console.error(`round ${r + 1}: ${perMinute.at(-1)!.toFixed(0)} idle queries per minute`);
      await stopReconciler(child);
      child = undefined;
    }
    const ideal = (AWAKE * 60_000) / IDLE_MS;
    let floor = 0;
    for (let k = 0; k < AWAKE; k++) floor += 60_000 / (IDLE_MS - trickleAgo(k));
    const mib = (x: number) => `${x.toFixed(0)} MiB`;
    console.log(`\n${APPS} opted-in Deployments (${sleeping} asleep, ${AWAKE} awake), medians of ${ROUNDS} rounds`);
    row(`the same writes from a plain loop, ${WORKERS} at a time`, raw, secs);
    row('settle, cold (allocate ports, write slices)', cold.map((s) => s.ms), secs, `   ratio ${(median(cold.map((s) => s.ms)) / median(raw)).toFixed(2)}x the plain writes`);
    row('  CPU of the reconciler meanwhile', cold.map((s) => s.cpuS * 1000), secs);
    row('list everything it caches', baseline, secs);
    row('settle, warm (restart or new leader)', warm.map((s) => s.ms), secs, `   ratio ${(median(warm.map((s) => s.ms)) / median(baseline)).toFixed(1)}x the list`);
    console.log(`${'memory with no app (baseline)'.padEnd(46)} RSS ${mib(empty.rssMiB)}, JS heap used ${mib(empty.heapMiB)}`);
    row('memory after a cold settle (RSS)', cold.map((s) => s.rssMiB), mib);
    row('memory after a warm settle (RSS)', warm.map((s) => s.rssMiB), mib, `   +${(median(warm.map((s) => s.rssMiB)) - empty.rssMiB).toFixed(0)} MiB over no app`);
    row('JS heap used after a warm settle', warm.map((s) => s.heapMiB), mib, `   +${(median(warm.map((s) => s.heapMiB)) - empty.heapMiB).toFixed(0)} MiB over no app`);
    row(`idle queries per minute (${AWAKE} apps, ${IDLE_AFTER})`, perMinute, (x) => x.toFixed(0), `   ${(median(perMinute) / ideal).toFixed(2)}x one per idle period (${ideal.toFixed(0)}), ${(median(perMinute) / floor).toFixed(2)}x the exact floor for this traffic (${floor.toFixed(0)}); a 1 s poll loop: ${AWAKE * 60}`);
    if (INTERCEPTOR) {
      const all = [...icptCold, ...icptWarm];
      const stayed = all.every((p) => p.readyAfterMs !== undefined && p.misses === 0 && p.notReady === 0);
      console.log(`interceptor (readiness probed every 1 s, timeout 1 s, as its Deployment does), ${stayed ? 'STAYED READY' : 'DID NOT STAY READY'}:`);
      for (const [label, runs] of [['during the cold settle', icptCold], ['restarted with the warm settle', icptWarm]] as const) {
        row(`  ${label}: probes missed / not ready`, runs.map((p) => p.misses), (x) => x.toFixed(0), `   not ready ${runs.map((p) => p.notReady).join(' ')} of ${runs.map((p) => p.probes).join(' ')} probes`);
        row(`  ${label}: slowest probe answer`, runs.map((p) => p.maxMs), (x) => `${x.toFixed(0)}ms`);
        row(`  ${label}: CPU of the interceptor`, runs.map((p) => p.cpuS * 1000), secs);
        row(`  ${label}: RSS at the end (peak)`, runs.map((p) => p.rssMiB), mib, `   peak ${runs.map((p) => mib(p.peakRssMiB)).join(' ')}`);
      }
      row('  restarted: ready after (all records listened on)', icptWarm.map((p) => p.readyAfterMs ?? NaN), secs);
    }
  } finally {
    clearInterval(beat);
    if (child) await stopReconciler(child);
    if (icpt) await stopInterceptor(icpt);
    for (const s of sidecars) s.close();
    if (!args.keep) {
      console.error('cleaning up');
      await tearDown();
    }
  }
}

if (args.clean) await tearDown();
else await main();
