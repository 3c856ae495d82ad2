// Request-based scaling, measured (README "Autoscaling"; medians over rounds):
//   1. --collect (default, no cluster): the cost of reading the load of N autoscaled apps every second.
//      N real sidecar admin servers (sidecar/admin.ts with the real per-second Load) run in a child
//      process; this process runs the real autoscaler pass (reconciler/autoscale/loop.ts: pull, one GET per
//      pod per second on kept-alive connections) over an in-memory cache of N one-pod apps, then the
//      alternative: the sidecars push their load once a second to a receiver here that runs the same
//      decision. Printed: requests/s and this process's CPU (the reconciler's) for each, and the pass time.
//   2. --step (the local cluster, under the e2e lock): a fixture app taking 200 ms per request, target 5,
//      goes from 0 to 50 closed-loop clients. Printed: time to the right spec.replicas (10), to 10 ready,
//      to the first request served by a new replica, the overshoot, failed requests. The HPA on CPU
//      cannot run here (no metrics-server): its documented timings are the baseline.
//   node bench/autoscale.ts [--collect] [--apps 500] [--seconds 20] [--rounds 3]
//   CI=true flock /tmp/lull-e2e.lock node bench/autoscale.ts --step
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { autoscaleSettings } from '../core/autoscale-settings.ts';
import { createLogger } from '../core/log.ts';
import type { ActivitySnapshot, SidecarLoad } from '../core/sidecar-contract.ts';
import { Decider } from '../reconciler/autoscale/decide.ts';
import { loadReader } from '../reconciler/autoscale/load.ts';
import { Autoscaler } from '../reconciler/autoscale/loop.ts';
import type { Informer } from '../core/informer.ts';
import { createMetrics } from '../reconciler/metrics.ts';
import type { DeploymentObj, PodObj } from '../core/objects.ts';
import { podIndex, World } from '../reconciler/world.ts';
import { createAdminServer } from '../sidecar/admin.ts';
import { Load } from '../sidecar/load.ts';

const { values: args } = parseArgs({
  options: {
    collect: { type: 'boolean', default: false },
    step: { type: 'boolean', default: false },
    sidecars: { type: 'string' },
    push: { type: 'string' },
    apps: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ANNOTATIONS = { 'lull.dev/enabled': 'true', 'lull.dev/injected': 'bench', 'lull.dev/state': 'awake', 'lull.dev/target-concurrency': '10' };

// --- the child: N sidecar admin servers, each with a real Load over a trickle of fake requests ----------

async function sidecars(n: number, pushTo: string | undefined): Promise<void> {
  const ports: number[] = [];
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < n; i++) {
    const activity = { requestsInFlight: i % 7, requestsTotal: 0, lastActivityAt: Date.now() };
    const load = new Load(activity);
    load.start();
    // Something moves, so the averages are not all zero.
    setInterval(() => (activity.requestsTotal += 3), 200).unref();
    const snapshot = (): ActivitySnapshot => ({ lastActivityAt: activity.lastActivityAt, inFlight: activity.requestsInFlight, requestsInFlight: activity.requestsInFlight, connectionsInFlight: 0, requestsTotal: activity.requestsTotal, connectionsTotal: 0, ready: true, draining: false, startedAt: 0, now: Date.now(), ...(load.last ? { load: load.last } : {}) });
    const server = createAdminServer({ snapshot, readiness: { ready: true } as never, drain: async () => ({}) as never, registry: { metrics: async () => '', contentType: 'text/plain; version=0.0.4; charset=utf-8' } });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    ports.push((server.address() as { port: number }).port);
    if (pushTo !== undefined) {
      // The push alternative: each sidecar sends its last second once a second, on a kept-alive connection.
      const app = `bench/app-${i}`;
      setInterval(() => {
        const body = JSON.stringify({ app, load: load.last });
        const req = request(pushTo, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => res.resume());
        req.on('error', () => undefined);
        req.end(body);
      }, 1000);
    }
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  await new Promise(() => undefined);
}

function memInformer<T extends { metadata: { name: string; namespace?: string } }>(objects: T[], indexBy?: (o: T) => string | undefined): Informer<T> {
  const byIndex = new Map<string, T[]>();
  for (const o of objects) {
    const key = indexBy?.(o);
    if (key !== undefined) byIndex.set(key, [...(byIndex.get(key) ?? []), o]);
  }
  const self: Informer<T> = {
    path: '/bench',
    synced: Promise.resolve(),
    hasSynced: () => true,
    get: (namespace, name) => objects.find((o) => o.metadata.name === name && (o.metadata.namespace ?? '') === namespace),
    list: (namespace) => (namespace === undefined ? objects : objects.filter((o) => (o.metadata.namespace ?? '') === namespace)),
    indexed: (key) => byIndex.get(key) ?? [],
    subscribe: () => () => undefined,
    start: () => self,
    stop() {},
  };
  return self;
}

async function startSidecars(n: number, pushTo?: string) {
  const child = spawn(process.execPath, [import.meta.filename, '--sidecars', String(n), ...(pushTo ? ['--push', pushTo] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { ports: JSON.parse(line) as number[], stop: () => child.kill('SIGTERM') };
}

/** CPU of this process over `seconds`, as a share of one core, while `during` runs. */
async function cpuOver(seconds: number): Promise<number> {
  const start = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / (performance.now() - t0);
}

async function collectPull(n: number, seconds: number) {
  const { ports, stop } = await startSidecars(n);
  const deployments: DeploymentObj[] = [];
  const pods: PodObj[] = [];
  ports.forEach((port, i) => {
    const name = `app-${i}`;
    deployments.push({ metadata: { name, namespace: 'bench', uid: name, resourceVersion: '1', annotations: ANNOTATIONS }, replicas: 1, selector: {}, podLabels: {}, injected: true, hasTcpPort: true, fronted: {}, portNames: {}, rolledOut: true, readyReplicas: 1, currentReplicas: 1 });
    pods.push({ metadata: { name: `${name}-pod`, namespace: 'bench', uid: `${name}-pod`, resourceVersion: '1' }, deployment: name, ip: '127.0.0.1', phase: 'Running', ready: true, adminPort: port });
  });
  const world = new World(
    { namespaces: memInformer([{ metadata: { name: 'bench', uid: 'ns', resourceVersion: '1' } }]), deployments: memInformer(deployments), services: memInformer([]), slices: memInformer([]), pods: memInformer(pods, podIndex), interceptors: memInformer([]), routes: memInformer([]) },
    'lull-system',
  );
  const metrics = createMetrics({ processMetrics: false });
  const reader = loadReader(1000);
  const scaler = new Autoscaler({ world, hpas: memInformer([]), api: { getDeployment: async () => undefined, scale: async () => undefined }, read: reader.read, record: async () => undefined, metrics, logger: createLogger('bench', 'warn') });
  scaler.start();
  await new Promise((r) => setTimeout(r, 3000)); // Connections made, first seconds measured.
  const before = (await metrics.autoscaleLoadQueries.get()).values.reduce((a, v) => a + v.value, 0);
  const t0 = performance.now();
  const cpu = await cpuOver(seconds);
  const queries = (await metrics.autoscaleLoadQueries.get()).values.reduce((a, v) => a + v.value, 0) - before;
  const rate = queries / ((performance.now() - t0) / 1000);
  const failed = (await metrics.autoscaleLoadQueries.get()).values.find((v) => v.labels.outcome === 'failed')?.value ?? 0;
  const pass = await metrics.autoscaleTickDuration.get();
  const sum = pass.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const count = pass.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 1;
  const skipped = (await metrics.autoscaleSkippedTicks.get()).values[0]?.value ?? 0;
  scaler.stop();
  await reader.close();
  stop();
  return { rate, cpu, passMs: (sum / count) * 1000, failed, skipped, observed: scaler.views().length };
}

async function collectPush(n: number, seconds: number) {
  const settings = autoscaleSettings(ANNOTATIONS)!;
  const deciders = new Map<string, Decider>();
  let received = 0;
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const { app, load } = JSON.parse(body) as { app: string; load?: SidecarLoad };
      let d = deciders.get(app);
      if (d === undefined) deciders.set(app, (d = new Decider(settings)));
      const now = Date.now();
      d.record(now, load?.concurrency ?? 0);
      d.decide(now, 1, 1);
      received++;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 10_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { stop } = await startSidecars(n, `http://127.0.0.1:${(server.address() as { port: number }).port}/load`);
  await new Promise((r) => setTimeout(r, 3000));
  const before = received;
  const t0 = performance.now();
  const cpu = await cpuOver(seconds);
  const rate = (received - before) / ((performance.now() - t0) / 1000);
  stop();
  server.close();
  server.closeAllConnections();
  return { rate, cpu };
}

async function collect(): Promise<void> {
  const n = Number(args.apps);
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const pull: Awaited<ReturnType<typeof collectPull>>[] = [];
  const push: Awaited<ReturnType<typeof collectPush>>[] = [];
  for (let r = 0; r < rounds; r++) {
    pull.push(await collectPull(n, seconds));
    push.push(await collectPush(n, seconds));
    process.stderr.write(`round ${r + 1}/${rounds}: pull ${pull.at(-1)!.rate.toFixed(0)} req/s ${(pull.at(-1)!.cpu * 100).toFixed(1)}% CPU; push ${push.at(-1)!.rate.toFixed(0)} req/s ${(push.at(-1)!.cpu * 100).toFixed(1)}% CPU\n`);
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  process.stdout.write(
    [
      `metrics collection for ${n} autoscaled one-pod apps, ${seconds}s windows, medians of ${rounds} rounds:`,
      `  pull (the reconciler GETs /lull/activity of each pod once a second, kept-alive):`,
      `    ${median(pull.map((p) => p.rate)).toFixed(0)} requests/s (${(median(pull.map((p) => p.rate)) / n).toFixed(2)} per app per second), reconciler CPU ${pct(median(pull.map((p) => p.cpu)))} of one core, pass ${median(pull.map((p) => p.passMs)).toFixed(1)} ms, failed reads ${median(pull.map((p) => p.failed))}, skipped passes ${median(pull.map((p) => p.skipped))}`,
      `  push (each sidecar POSTs its last second once a second, kept-alive; same decision on receipt):`,
      `    ${median(push.map((p) => p.rate)).toFixed(0)} requests/s, receiver CPU ${pct(median(push.map((p) => p.cpu)))} of one core`,
      `  pull/push CPU: ${(median(pull.map((p) => p.cpu)) / median(push.map((p) => p.cpu))).toFixed(2)}x`,
      '',
    ].join('\n'),
  );
}

// --- the step on the local cluster ------------------------------------------------------------------

async function step(): Promise<void> {
  const { resolve } = await import('node:path');
  const { startStack } = await import('../test/e2e/support/stack.ts');
  const { waitFor: until } = await import('../test/e2e/support/wait.ts');
  const { startClients, tally } = await import('../test/e2e/support/clients.ts');
  const { REPO_ROOT } = await import('../test/cluster/layout.ts');
  const { get } = await import('../test/e2e/support/http.ts');
  const { clusterOrExit } = await import('./prerequisites.ts');
  await clusterOrExit('bench/autoscale.ts --step');
  const stack = await startStack({ scope: 'bench-autoscale', log: (l) => process.stderr.write(`${l}\n`) });
  const ns = await stack.namespace('lull-bench-autoscale');
  const rounds = Number(args.rounds);
  const results: Array<{ spec: number; ready: number; newServed: number; overshoot: number; failed: number; total: number }> = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const name = `step-${r}`;
      const fixture = resolve(REPO_ROOT, 'test/fixtures/http-app.ts');
      await stack.kubectl.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: ns, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/target-concurrency': '5', 'lull.dev/min-replicas': '1', 'lull.dev/max-replicas': '30' } },
        spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'node:24', command: ['node', fixture, '--port', '8080'], ports: [{ name: 'http', containerPort: 8080 }] }] } } },
      });
      await stack.kubectl.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
      const ip = await until(`${name} awake behind its sidecar`, async () => {
        const d = await stack.kubectl.json(['get', 'deploy', name, '-n', ns]);
        if (d.metadata.annotations?.['lull.dev/state'] !== 'awake' || (d.status?.readyReplicas ?? 0) !== 1 || (d.status?.updatedReplicas ?? 0) !== 1 || (d.status?.replicas ?? 0) !== 1) return false;
        // The onboarding rollout's pod without the sidecar gone, and kube-proxy past it: a few requests all answer.
        const pods = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items as any[];
        if (pods.length !== 1 || pods.some((p) => p.metadata.deletionTimestamp)) return false;
        const svc = await stack.kubectl.json(['get', 'svc', name, '-n', ns]);
        if (svc.spec.ports[0].targetPort !== 'lull-8080') return false;
        for (let i = 0; i < 10; i++) if ((await get(`http://${svc.spec.clusterIP}/`)).status !== 200) return false;
        return svc.spec.clusterIP as string;
      }, 180_000, 200);
      const first = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.map((p: any) => p.metadata.name) as string[];
      const t0 = Date.now();
      const clients = startClients(`http://${ip}/slow?ms=200`, 50);
      let specAt = 0;
      let readyAt = 0;
      let maxSpec = 0;
      while (Date.now() - t0 < 90_000) {
        const d = await stack.kubectl.json(['get', 'deploy', name, '-n', ns]);
        maxSpec = Math.max(maxSpec, d.spec.replicas);
        if (!specAt && d.spec.replicas >= 10) specAt = Date.now();
        if (!readyAt && (d.status?.readyReplicas ?? 0) >= 10) readyAt = Date.now();
        if (readyAt && Date.now() - readyAt > 10_000) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await clients.stop();
      const newServed = Math.min(...[...clients.firstServedAt].filter(([pod]) => !first.includes(pod)).map(([, at]) => at));
      const { failed, total } = tally(clients);
      results.push({ spec: specAt - t0, ready: readyAt - t0, newServed: newServed - t0, overshoot: maxSpec - 10, failed, total });
      process.stderr.write(`round ${r + 1}/${rounds}: ${JSON.stringify(results.at(-1))}${clients.failures.length ? ` failures: ${clients.failures.join('; ')}` : ''}\n`);
      await stack.kubectl(['delete', 'deploy,svc', name, '-n', ns, '--wait=false']);
    }
  } finally {
    await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack.stop();
  }
  const s = (f: (r: (typeof results)[number]) => number) => `${(median(results.map(f)) / 1000).toFixed(1)} s`;
  process.stdout.write(
    [
      `step 0 -> 50 closed-loop clients, 200 ms per request, target 5 (right count: 10), medians of ${rounds} rounds:`,
      `  spec.replicas 10 after ${s((r) => r.spec)}; 10 ready after ${s((r) => r.ready)}; first request served by a new replica after ${s((r) => r.newServed)}`,
      `  overshoot ${median(results.map((r) => r.overshoot))} replicas; failed requests ${results.reduce((a, r) => a + r.failed, 0)} of ${results.reduce((a, r) => a + r.total, 0)}`,
      `  baseline, an HPA on CPU (documented, cannot run here: no metrics-server): metrics-server scrapes every 15 s over a`,
      `  CPU window of about 30 s; the HPA syncs every 15 s and by default grows by at most max(100%, 4 pods) per 15 s, so`,
      `  1 -> 10 takes two syncs (1 -> 5 -> 10): 30 s at best after the CPU shows, ~45-60 s from the step, plus pod starts;`,
      `  scale-down waits 300 s (stabilisation). KEDA polls every 30 s by default.`,
      '',
    ].join('\n'),
  );
}

if (args.help) {
  process.stdout.write(`${(await import('node:fs')).readFileSync(import.meta.filename, 'utf8').split('\nimport ')[0]}\n`);
} else if (args.sidecars !== undefined) {
  await sidecars(Number(args.sidecars), args.push);
} else if (args.step) {
  await step();
} else {
  await collect();
}
