// Cold start through Lull on the local cluster: what a request to a sleeping app costs beyond the app's
// own start and the control plane's pod creation, and how many held connections one wake can carry.
//
//   node bench/coldstart.ts [--wakes 10] [--connections 10000]     (KUBECONFIG or the local cluster's)
//   LULL_BENCH_VERBOSE=1 prints each wake's timestamps; LULL_INTERCEPTOR_LOG_LEVEL=debug logs each wake's steps.
//
// startStack() (test/e2e/support/stack.ts) brings up Lull's parts, as for the e2e tests.
// With --app it is instead the benchmark's app: the fixture HTTP app, plus a side port telling when
// its process began, so the app's own start time can be taken out.
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { httpGet, startStack, until, type Stack } from '../test/e2e/support/stack.ts';
import { clusterOrExit } from './prerequisites.ts';

const REPO = resolve(import.meta.dirname, '..');
/** The app's side port: when its process began and when it listened. */
const INFO_PORT = 8081;

async function appMode(argv: string[]): Promise<void> {
  // When this process began, to the microsecond: the app's own start runs from here to listening.
  const origin = performance.timeOrigin;
  const { startHttpApp } = await import('../test/fixtures/http-app.ts');
  const { values } = parseArgs({ args: argv, options: { app: { type: 'boolean' }, port: { type: 'string', default: '8080' }, delay: { type: 'string', default: '0' } } });
  const app = await startHttpApp({ port: Number(values.port), host: '0.0.0.0', name: process.env.HOSTNAME ?? 'coldstart', delayMs: Number(values.delay) });
  const info = JSON.stringify({ timeOrigin: origin, startedAt: app.startedAt, listeningAt: app.listeningAt });
  const side = (await import('node:http')).createServer((_req, res) => res.end(info));
  side.listen(INFO_PORT, '0.0.0.0');
  process.once('SIGTERM', () => process.exit(0));
}

// --- the benchmark ---

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function deployment(ns: string, name: string, annotations: Record<string, string>, delayMs = 0) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'node:24',
              command: ['node', resolve(REPO, 'bench/coldstart.ts'), '--app', '--port', '8080', '--delay', String(delayMs)],
              ports: [{ name: 'http', containerPort: 8080 }],
            },
          ],
        },
      },
    },
  };
}

function service(ns: string, name: string) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
}

/** Asleep for real: at zero, the interceptor slice in place, and no pod left from before. */
async function asleep(stack: Stack, ns: string, name: string, timeoutMs = 120_000): Promise<string> {
  return until(`${ns}/${name} to sleep`, async () => {
    const d = await stack.getJson(['get', 'deploy', name, '-n', ns]);
    if (d.spec.replicas !== 0 || d.metadata.annotations?.['lull.dev/state'] !== 'sleeping') return false;
    const pods = (await stack.getJson(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items;
    if (pods.length > 0) return false;
    const slices = (await stack.getJson(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`])).items as any[];
    const lull = slices.find((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'reconciler.lull.dev');
    if (!lull?.endpoints?.some((e: any) => e.conditions?.ready !== false)) return false;
    return (await stack.getJson(['get', 'svc', name, '-n', ns])).spec.clusterIP as string;
  }, timeoutMs, 100);
}

async function wakingEventTimes(stack: Stack, ns: string, name: string): Promise<number[]> {
  const events = (await stack.getJson(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=Waking`])).items as any[];
  return events.map((e) => Date.parse(e.eventTime ?? e.firstTimestamp)).sort((a, b) => a - b);
}

interface Wake {
  totalMs: number;
  controlPlaneMs: number;
  appStartMs: number;
  lullMs: number;
  /** Interceptor: the request's arrival to the scale-up asked for (the Waking Event's eventTime). */
  beforeScaleMs: number;
  /** The app listening, its sidecar not up yet: the sidecar's boot beyond the app's. */
  sidecarLagMs: number;
  /** Both up: the sidecar's probe, wait-ready, the forward, and the response. */
  readyToAnswerMs: number;
}

async function oneWake(stack: Stack, ns: string, name: string): Promise<Wake> {
  const clusterIP = await asleep(stack, ns, name);
  const before = (await wakingEventTimes(stack, ns, name)).length;
  const sent = Date.now();
  const reply = await httpGet(`http://${clusterIP}/`, 60_000);
  const answered = Date.now();
  if (reply.status !== 200) throw new Error(`the wake answered ${reply.status}: ${reply.body}`);
  const scaledAt = (await until('the Waking Event', async () => {
    const times = await wakingEventTimes(stack, ns, name);
    return times.length > before ? times : false;
  }, 10_000)).at(-1)!;
  const pod = (await stack.getJson(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.find((p: any) => !p.metadata.deletionTimestamp);
  const info = JSON.parse((await httpGet(`http://${pod.status.podIP}:${INFO_PORT}/`)).body) as { timeOrigin: number; listeningAt: number };
  // The sidecar's activity record is made as it starts serving.
  const sidecarUp = (JSON.parse((await httpGet(`http://${pod.status.podIP}:9930/lull/activity`)).body) as { startedAt: number }).startedAt;
  const totalMs = answered - sent;
  const controlPlaneMs = info.timeOrigin - scaledAt;
  const appStartMs = info.listeningAt - info.timeOrigin;
  const bothUp = Math.max(info.listeningAt, sidecarUp);
  if (process.env.LULL_BENCH_VERBOSE) process.stdout.write(`    sent ${sent} scaled ${scaledAt} process ${info.timeOrigin.toFixed(1)} listening ${info.listeningAt} sidecar ${sidecarUp} answered ${answered}\n`);
  return {
    totalMs,
    controlPlaneMs,
    appStartMs,
    lullMs: totalMs - controlPlaneMs - appStartMs,
    beforeScaleMs: scaledAt - sent,
    sidecarLagMs: bothUp - info.listeningAt,
    readyToAnswerMs: answered - bothUp,
  };
}

/** Peak resident memory of the interceptor processes (pods are host processes: the pid is in the container ID). */
async function interceptorMemory(stack: Stack): Promise<Array<{ pod: string; ip: string; pid: number; rssMiB: number; peakMiB: number }>> {
  const ready = (p: any) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
  const pods = (await stack.interceptors()).filter(ready);
  return pods.flatMap((p: any) => {
    const pid = Number(/(\d+)$/.exec(p.status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
    if (!pid || !existsSync(`/proc/${pid}/status`)) return [];
    // The container's process is `ip netns exec ... node`: the node process is the one exec'd in place.
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return [{ pod: p.metadata.name, ip: p.status.podIP as string, pid, rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 }];
  });
}

async function capacity(stack: Stack, ns: string, name: string, connections: number, log: (line: string) => void) {
  // Fresh interceptor processes, so their memory figures are this run's alone (V8 keeps what it once grew to).
  await stack.kubectl(['rollout', 'restart', 'deploy/lull-interceptor', '-n', 'lull-system']);
  await stack.kubectl(['rollout', 'status', 'deploy/lull-interceptor', '-n', 'lull-system', '--timeout=120s']);
  const clusterIP = await asleep(stack, ns, name);
  await until('the interceptor slice to name the new replicas', async () => {
    const ips = new Set((await stack.interceptors()).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.status?.podIP));
    const slices = (await stack.getJson(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name},endpointslice.kubernetes.io/managed-by=reconciler.lull.dev`])).items as any[];
    const endpoints = slices.flatMap((s) => s.endpoints ?? []).map((e: any) => e.addresses[0]);
    return endpoints.length === ips.size && endpoints.every((ip: string) => ips.has(ip));
  }, 60_000, 100);
  const memoryBefore = await interceptorMemory(stack);
  let answered = 0;
  let failed = 0;
  let firstAt = 0;
  let lastAt = 0;
  const failures = new Map<string, number>();
  const started = Date.now();
  const all: Array<Promise<void>> = [];
  // Opened in waves, each waiting for its connects, so SYN queues never overflow; the app starts slowly enough for all to be held.
  const WAVE = 500;
  for (let i = 0; i < connections; i += WAVE) {
    const wave: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(connections, i + WAVE); j++) {
      let connected!: () => void;
      wave.push(new Promise((r) => (connected = r)));
      all.push(
        new Promise<void>((done) => {
          const req = request(`http://${clusterIP}/`, { agent: false }, (res) => {
            res.resume();
            res.on('end', () => {
              const now = Date.now();
              if (res.statusCode === 200) answered++;
              else {
                failed++;
                failures.set(String(res.statusCode), (failures.get(String(res.statusCode)) ?? 0) + 1);
              }
              firstAt ||= now;
              lastAt = now;
              done();
            });
          });
          req.on('socket', (s) => s.once('connect', connected));
          req.on('error', (err) => {
            failed++;
            failures.set((err as NodeJS.ErrnoException).code ?? err.message, (failures.get((err as NodeJS.ErrnoException).code ?? err.message) ?? 0) + 1);
            connected();
            done();
          });
          req.end();
        }),
      );
    }
    await Promise.all(wave);
  }
  const connectedMs = Date.now() - started;
  log(`  ${connections} connections open after ${connectedMs} ms`);
  // While all are held (the app is still starting): what holding costs, apart from forwarding.
  const held = await until('every connection to be held', async () => {
    const counts = await Promise.all(memoryBefore.map(async (m) => Number(/lull_interceptor_held_connections (\d+)/.exec((await httpGet(`http://${m.ip}:9940/metrics`)).body)?.[1] ?? 0)));
    return counts.reduce((a, b) => a + b, 0) >= connections - failed ? counts : false;
  }, 30_000, 100);
  const memoryHeld = await interceptorMemory(stack);
  await Promise.all(all);
  const memoryAfter = await interceptorMemory(stack);
  return { answered, failed, failures: Object.fromEntries(failures), connectedMs, drainMs: lastAt - firstAt, totalMs: lastAt - started, memoryBefore, memoryHeld, memoryAfter, held };
}

async function bench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { wakes: { type: 'string', default: '10' }, connections: { type: 'string', default: '10000' } } });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  await clusterOrExit('bench/coldstart.ts');
  const stack = await startStack({ scope: 'coldstart', log: (l) => log(`[stack] ${l}`) });
  let ns: string | undefined;
  try {
    ns = await stack.namespace('lull-bench-coldstart');
    await stack.apply(deployment(ns, 'cold', {}));
    await stack.apply(service(ns, 'cold'));
    const wakes: Wake[] = [];
    const count = Number(values.wakes);
    if (count > 0) {
    log(`cold start: ${count} wakes of the fixture app from zero`);
    for (let i = 0; i < count; i++) {
      const wake = await oneWake(stack, ns, 'cold');
      wakes.push(wake);
      log(`  wake ${i + 1}: total ${wake.totalMs} ms = control plane ${wake.controlPlaneMs.toFixed(1)} + app start ${wake.appStartMs.toFixed(1)} + Lull ${wake.lullMs.toFixed(1)} (to the scale ${wake.beforeScaleMs}, sidecar boot after the app ${wake.sidecarLagMs}, ready to answer ${wake.readyToAnswerMs})`);
    }
    const m = (key: keyof Wake) => median(wakes.map((w) => w[key])).toFixed(1);
    log('');
    log(`medians over ${count} wakes (ms):`);
    log(`  first request to its response   ${m('totalMs')}`);
    log(`  control plane (scale → process) ${m('controlPlaneMs')}   (the PATCH, ReplicaSet, scheduler, kubelet, containers started)`);
    log(`  app's own start                 ${m('appStartMs')}`);
    log(`  Lull's part                     ${m('lullMs')}   (goal ≤ 20 at p50), made of:`);
    log(`    request to scale-up asked     ${m('beforeScaleMs')}   (interceptor: accept, hold, the guarded PATCH sent)`);
    log(`    sidecar up after the app      ${m('sidecarLagMs')}   (the sidecar booting slower than the app)`);
    log(`    both up to the answer         ${m('readyToAnswerMs')}   (sidecar probe, wait-ready, forward, response)`);
    }

    const connections = Number(values.connections);
    if (connections > 0) {
      log('');
      log(`capacity: ${connections} connections held during one wake (the app takes 10 s to listen)`);
      await stack.apply(deployment(ns, 'many', { 'lull.dev/max-held': '100000', 'lull.dev/hold-timeout': '5m' }, 10_000));
      await stack.apply(service(ns, 'many'));
      const result = await capacity(stack, ns, 'many', connections, log);
      log(`  answered ${result.answered}/${connections} (failed ${result.failed}${result.failed ? ` ${JSON.stringify(result.failures)}` : ''})`);
      log(`  drained in ${result.drainMs} ms (first to last answer); ${result.totalMs} ms from the first connection`);
      for (const m of result.memoryAfter) {
        const before = result.memoryBefore.find((b) => b.pod === m.pod);
        const held = result.memoryHeld.find((b) => b.pod === m.pod);
        const count = result.held[result.memoryBefore.findIndex((b) => b.pod === m.pod)] ?? 0;
        const perConnection = before && held && count ? ` (${(((held.rssMiB - before.rssMiB) * 1024) / count).toFixed(1)} KiB per held connection)` : '';
        log(`  interceptor ${m.pod}: RSS ${before?.rssMiB.toFixed(1) ?? '?'} MiB before, ${held?.rssMiB.toFixed(1) ?? '?'} MiB holding ${count}${perConnection}, peak ${m.peakMiB.toFixed(1)} MiB while forwarding`);
      }
    }
  } finally {
    if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack.stop();
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  if (argv.includes('--app')) await appMode(argv);
  else await bench(argv);
}
