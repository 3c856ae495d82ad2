// Cold start through Lull on the local cluster, stage by stage: where a request to a sleeping app waits,
// which of it is Lull's, and a baseline in the same run: the same app without Lull, scaled 0 → 1 through
// the scale subresource and polled directly (a TCP connect to the pod IP every 2 ms once the pod has one).
// Also how many held connections one wake can carry.
//
//   node bench/coldstart.ts [--wakes 15] [--baseline 15] [--connections 0]   (KUBECONFIG or the local cluster's)
//   LULL_BENCH_VERBOSE=1 prints each wake's timestamps.
//
// Stage times are all read on this machine's clock (the cluster runs here): the request's send and
// answer (this process), the Waking Event's eventTime (the interceptor, when it asked for the scale),
// pod watch events as they arrive here, the sidecar's /lull/activity `boot` (process start, listening,
// app first ready), the app's own side port (process start, listening), and the interceptor's debug
// log lines (its pod address seen, the sidecar's ready answer, held connections released).
// startStack() (test/e2e/support/stack.ts) brings up Lull's parts, as for the e2e tests. The app is
// bench/coldstart-app.ts: it listens within tens of ms of its start, so Lull's own start shows.
import { KubeConfig } from '@kubernetes/client-node';
import { informer } from '../core/informer.ts';
import { kubeClient } from '../core/kube-client.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterFiles, clusterLayout } from '../test/cluster/layout.ts';
import { asleepBehindInterceptor } from '../test/e2e/support/asleep.ts';
import { appService, fixtureApp } from '../test/e2e/support/fixture-apps.ts';
import { get as httpGet } from '../test/e2e/support/http.ts';
import { startStack, type Stack } from '../test/e2e/support/stack.ts';
import { waitFor } from '../test/e2e/support/wait.ts';
import { clusterOrExit } from './prerequisites.ts';

const REPO = resolve(import.meta.dirname, '..');
/** The app's side port: when its process began and when it listened. */
const INFO_PORT = 8081;
const SIDECAR_ADMIN_PORT = 9930;
/** The baseline's poll: a connect to the pod IP this often once it has one. */
const BASELINE_POLL_MS = 2;
const GOAL = { p50: 20, p99: 60 };

// --- the benchmark ---

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50) {
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (values: number[]) => percentile(values, 50);

function deployment(ns: string, name: string, annotations: Record<string, string>, delayMs = 0) {
  const command = ['node', resolve(REPO, 'bench/coldstart-app.ts'), '--port', '8080', '--delay', String(delayMs)];
  return fixtureApp(name, { namespace: ns, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations }, command });
}

const service = (ns: string, name: string) => appService(name, ns);
const asleep = (stack: Stack, ns: string, name: string) => asleepBehindInterceptor(stack.kubectl, ns, name);

async function wakingEventTimes(stack: Stack, ns: string, name: string): Promise<number[]> {
  const events = (await stack.kubectl.json(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=Waking`])).items as any[];
  return events.map((e) => Date.parse(e.eventTime ?? e.firstTimestamp) + microsOf(e.eventTime)).sort((a, b) => a - b);
}

/** The sub-millisecond part of a MicroTime ("2026-01-01T00:00:00.123456Z"). */
function microsOf(time: string | undefined): number {
  const m = /\.\d{3}(\d{3})Z$/.exec(time ?? '');
  return m ? Number(m[1]) / 1000 : 0;
}

/** Pod watch events as they arrive here: when the pod was created, and when its IP was first seen. */
class PodTimes {
  created = 0;
  addressed = 0;
  #stop: (() => void) | undefined;

  static async start(kubeconfig: string, ns: string, selector: string): Promise<PodTimes> {
    const times = new PodTimes();
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const pods = informer<any>({
      client: kubeClient(kc),
      path: `/api/v1/namespaces/${ns}/pods`,
      labelSelector: selector,
      onChange: (change, pod) => {
        const now = Date.now();
        if (change === 'add' && times.created === 0) times.created = now;
        if (change !== 'delete' && pod?.status?.podIP && times.addressed === 0 && !pod.metadata?.deletionTimestamp) times.addressed = now;
      },
    }).start();
    await pods.synced;
    times.#stop = () => pods.stop();
    return times;
  }

  stop(): void {
    this.#stop?.();
  }
}

/** The interceptor's log lines about one app since `since`, from the pod log files the test kubelet writes. */
function interceptorLines(app: string, since: number): Array<{ time: number; msg: string; pod?: string }> {
  const dir = clusterFiles(clusterLayout()).podLogs;
  if (!existsSync(dir)) return [];
  const lines: Array<{ time: number; msg: string; pod?: string }> = [];
  for (const podDir of readdirSync(dir).filter((d) => d.startsWith('lull-system_lull-interceptor'))) {
    for (const file of readdirSync(join(dir, podDir)).filter((f) => f.endsWith('.log'))) {
      for (const line of readFileSync(join(dir, podDir, file), 'utf8').split('\n')) {
        if (!line.includes(app)) continue;
        try {
          const entry = JSON.parse(line) as { time: number; msg: string; app?: string; pod?: string };
          if (entry.app === app && entry.time >= since) lines.push(entry);
        } catch {
          // Not a log line of ours.
        }
      }
    }
  }
  return lines.sort((a, b) => a.time - b.time);
}

interface Boot {
  processStartedAt: number;
  listeningAt: number;
  appReadyAt: number;
}

/** One wake's timestamps (epoch ms) and what they make. */
interface Wake {
  sent: number;
  scaleSent: number;
  podCreated: number;
  podAddressed: number;
  sidecarStarted: number;
  sidecarListening: number;
  appStarted: number;
  appListening: number;
  sidecarSawReady: number;
  interceptorSawAddress: number;
  interceptorTold: number;
  released: number;
  /** The request's arrival at the sidecar (its activity record, whole ms). */
  sidecarGotRequest: number;
  appGotRequest: number;
  answered: number;
}

const STAGES: Array<{ name: string; owner: 'Lull' | 'control plane' | 'app' | 'info'; from: keyof Wake; to: keyof Wake; note: string }> = [
  { name: 'request accepted → scale patch sent', owner: 'Lull', from: 'sent', to: 'scaleSent', note: 'interceptor: hold, read the Deployment, the guarded PATCH' },
  { name: 'scale patch sent → pod created', owner: 'control plane', from: 'scaleSent', to: 'podCreated', note: 'apiserver, Deployment and ReplicaSet controllers (watch arrival here)' },
  { name: 'pod created → app process started', owner: 'control plane', from: 'podCreated', to: 'appStarted', note: 'scheduler, kubelet, sandbox, containers (sidecar first)' },
  { name: 'app process started → app listening', owner: 'app', from: 'appStarted', to: 'appListening', note: "the app's own start" },
  { name: 'app listening → sidecar sees it ready', owner: 'Lull', from: 'appListening', to: 'sidecarSawReady', note: 'sidecar boot lag (if later than the app) and its probe' },
  { name: 'sidecar sees ready → interceptor told', owner: 'Lull', from: 'sidecarSawReady', to: 'interceptorTold', note: "wait-ready answer (or the interceptor's first look, if it saw the pod address later)" },
  { name: 'interceptor told → request at the sidecar', owner: 'Lull', from: 'interceptorTold', to: 'sidecarGotRequest', note: 'release the held connection, connect to the pod, send' },
  { name: 'request at the sidecar → request at the app', owner: 'Lull', from: 'sidecarGotRequest', to: 'appGotRequest', note: 'the sidecar forwards (connect to the app, head)' },
  { name: 'request at the app → response at the client', owner: 'app', from: 'appGotRequest', to: 'answered', note: "the app's first answer (and the way back, through the sidecar and the interceptor)" },
];

const INFO: Array<{ name: string; from: keyof Wake; to: keyof Wake }> = [
  { name: 'sidecar process started → listening', from: 'sidecarStarted', to: 'sidecarListening' },
  { name: 'app process started → sidecar process started', from: 'appStarted', to: 'sidecarStarted' },
  { name: 'sidecar listening − app listening', from: 'appListening', to: 'sidecarListening' },
  { name: 'pod created → pod IP in a watch event', from: 'podCreated', to: 'podAddressed' },
  { name: 'pod created → interceptor sees the pod address', from: 'podCreated', to: 'interceptorSawAddress' },
  { name: 'interceptor told → held connections released', from: 'interceptorTold', to: 'released' },
];

function lullShare(w: Wake): number {
  return STAGES.filter((s) => s.owner === 'Lull').reduce((sum, s) => sum + (w[s.to] - w[s.from]), 0);
}

async function oneWake(stack: Stack, ns: string, name: string): Promise<Wake> {
  const clusterIP = await asleep(stack, ns, name);
  const before = (await wakingEventTimes(stack, ns, name)).length;
  const pods = await PodTimes.start(stack.kubectl.kubeconfig, ns, `app=${name}`);
  try {
    const sent = Date.now();
    const reply = await httpGet(`http://${clusterIP}/`, 60_000);
    const answered = Date.now();
    if (reply.status !== 200) throw new Error(`the wake answered ${reply.status}: ${reply.body}`);
    const scaleSent = (await waitFor('the Waking Event', async () => {
      const times = await wakingEventTimes(stack, ns, name);
      return times.length > before ? times : false;
    }, 10_000)).at(-1)!;
    const pod = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.find((p: any) => !p.metadata.deletionTimestamp);
    const info = JSON.parse((await httpGet(`http://${pod.status.podIP}:${INFO_PORT}/`)).body) as { timeOrigin: number; listeningAt: number; firstRequestAt: number };
    const activity = JSON.parse((await httpGet(`http://${pod.status.podIP}:${SIDECAR_ADMIN_PORT}/lull/activity`)).body) as { boot?: Boot; lastActivityAt: number };
    if (activity.boot === undefined) throw new Error('the sidecar has no boot timings in /lull/activity: is the pod running an older sidecar?');
    const lines = await waitFor('the interceptor log lines of this wake', async () => {
      const found = interceptorLines(`${ns}/${name}`, sent - 1);
      return found.some((l) => l.msg.startsWith('app ready')) ? found : false;
    }, 10_000, 100);
    const at = (msg: string) => lines.find((l) => l.msg === msg)?.time ?? Number.NaN;
    const wake: Wake = {
      sent,
      scaleSent,
      podCreated: pods.created,
      podAddressed: pods.addressed,
      sidecarStarted: activity.boot.processStartedAt,
      sidecarListening: activity.boot.listeningAt,
      appStarted: info.timeOrigin,
      appListening: info.listeningAt,
      sidecarSawReady: activity.boot.appReadyAt,
      interceptorSawAddress: at('pod address seen'),
      interceptorTold: Number.isNaN(at('sidecar says ready')) ? at('app ready; forwarding held connections') : at('sidecar says ready'),
      released: at('app ready; forwarding held connections'),
      sidecarGotRequest: activity.lastActivityAt,
      appGotRequest: info.firstRequestAt,
      answered,
    };
    if (process.env.LULL_BENCH_VERBOSE) process.stdout.write(`    ${JSON.stringify(Object.fromEntries(Object.entries(wake).map(([k, v]) => [k, Math.round((v - sent) * 10) / 10])))}\n`);
    return wake;
  } finally {
    pods.stop();
  }
}

/** The baseline: the same app without Lull, scaled 0 → 1 and polled directly. */
interface DirectWake {
  scaleSent: number;
  podCreated: number;
  podAddressed: number;
  appStarted: number;
  appListening: number;
  appGotRequest: number;
  answered: number;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host, port, timeout: 1000 });
    const finish = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
    s.once('timeout', () => finish(false));
  });
}

async function scaleTo(stack: Stack, ns: string, name: string, replicas: number): Promise<void> {
  await stack.kubectl(['patch', 'deployment', name, '-n', ns, '--subresource=scale', '--type=merge', '-p', JSON.stringify({ spec: { replicas } })]);
}

async function oneDirectWake(stack: Stack, ns: string, name: string): Promise<DirectWake> {
  await scaleTo(stack, ns, name, 0);
  await waitFor(`${ns}/${name} at zero`, async () => (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.length === 0, 120_000, 100);
  const pods = await PodTimes.start(stack.kubectl.kubeconfig, ns, `app=${name}`);
  try {
    const scaleSent = Date.now();
    await scaleTo(stack, ns, name, 1);
    // From the moment the pod has an address: a connect every few ms, then the request.
    let ip: string | undefined;
    while (ip === undefined) {
      if (pods.addressed > 0) {
        ip = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.find((p: any) => !p.metadata.deletionTimestamp)?.status?.podIP;
      }
      if (ip === undefined) await new Promise((r) => setTimeout(r, BASELINE_POLL_MS));
    }
    while (!(await accepts(ip, 8080))) await new Promise((r) => setTimeout(r, BASELINE_POLL_MS));
    const reply = await httpGet(`http://${ip}:8080/`, 10_000);
    const answered = Date.now();
    if (reply.status !== 200) throw new Error(`the app answered ${reply.status}`);
    const info = JSON.parse((await httpGet(`http://${ip}:${INFO_PORT}/`)).body) as { timeOrigin: number; listeningAt: number; firstRequestAt: number };
    return { scaleSent, podCreated: pods.created, podAddressed: pods.addressed, appStarted: info.timeOrigin, appListening: info.listeningAt, appGotRequest: info.firstRequestAt, answered };
  } finally {
    pods.stop();
  }
}

function row(label: string, values: number[], note = ''): string {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return `  ${label.padEnd(52)} ${'n/a'.padStart(8)}`;
  return `  ${label.padEnd(52)} ${median(ok).toFixed(1).padStart(8)} ${percentile(ok, 99).toFixed(1).padStart(8)}   ${note}`;
}

function report(wakes: Wake[], direct: DirectWake[], log: (line: string) => void): void {
  log('');
  log(`through Lull: ${wakes.length} wakes (ms; p50, p99 = the largest of fewer than 100)`);
  log(`  ${'stage'.padEnd(52)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}   whose`);
  for (const s of STAGES) log(row(s.name, wakes.map((w) => w[s.to] - w[s.from]), s.owner));
  log(row('first request → response', wakes.map((w) => w.answered - w.sent)));
  log(row("Lull's share (its stages summed)", wakes.map(lullShare), `goal ≤ ${GOAL.p50} at p50, ≤ ${GOAL.p99} at p99`));
  log('  of which, for reading the stages above:');
  for (const s of INFO) log(row(`  ${s.name}`, wakes.map((w) => w[s.to] - w[s.from])));
  if (direct.length > 0) {
    log('');
    log(`baseline, the same app without Lull: ${direct.length} wakes, scaled by the API, polled directly every ${BASELINE_POLL_MS} ms (ms)`);
    log(row('scale patch sent → pod created', direct.map((d) => d.podCreated - d.scaleSent)));
    log(row('pod created → app process started', direct.map((d) => d.appStarted - d.podCreated)));
    log(row('app process started → app listening', direct.map((d) => d.appListening - d.appStarted)));
    log(row('app listening → request at the app (the poll)', direct.map((d) => d.appGotRequest - d.appListening)));
    log(row('request at the app → response at the client', direct.map((d) => d.answered - d.appGotRequest)));
    log(row('scale patch sent → response', direct.map((d) => d.answered - d.scaleSent)));
    // The app's first request after it listens is slow on its own (cold code, a busy start): the baseline
    // pays it too. So Lull's part after the app listens is also given as the excess over the baseline's.
    const afterListen = median(wakes.map((w) => w.answered - w.appListening));
    const directAfterListen = median(direct.map((d) => d.answered - d.appListening));
    const beforeScale = median(wakes.map((w) => w.scaleSent - w.sent));
    log('');
    log(`  app listening → response: through Lull ${afterListen.toFixed(1)} ms p50, directly ${directAfterListen.toFixed(1)} ms p50: Lull adds ${(afterListen - directAfterListen).toFixed(1)} ms`);
    log(`  Lull's share against the baseline: request → scale patch ${beforeScale.toFixed(1)} + ${(afterListen - directAfterListen).toFixed(1)} = ${(beforeScale + afterListen - directAfterListen).toFixed(1)} ms p50`);
    log(`  whole wakes: through Lull request → response ${median(wakes.map((w) => w.answered - w.sent)).toFixed(1)} ms p50; directly scale → response ${median(direct.map((d) => d.answered - d.scaleSent)).toFixed(1)} ms p50`);
    log('  (whole wakes differ mostly by the app\'s start and the control plane, which swing by hundreds of ms on a busy machine)');
  }
  const share = wakes.map(lullShare);
  log('');
  log(`Lull's share: p50 ${median(share).toFixed(1)} ms (goal ≤ ${GOAL.p50}), p99 ${percentile(share, 99).toFixed(1)} ms (goal ≤ ${GOAL.p99})`);
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
  await waitFor('the interceptor slice to name the new replicas', async () => {
    const ips = new Set((await stack.interceptors()).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.status?.podIP));
    const slices = (await stack.kubectl.json(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name},endpointslice.kubernetes.io/managed-by=reconciler.lull.dev`])).items as any[];
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
  const held = await waitFor('every connection to be held', async () => {
    const counts = await Promise.all(memoryBefore.map(async (m) => Number(/lull_interceptor_held_connections (\d+)/.exec((await httpGet(`http://${m.ip}:9940/metrics`)).body)?.[1] ?? 0)));
    return counts.reduce((a, b) => a + b, 0) >= connections - failed ? counts : false;
  }, 30_000, 100);
  const memoryHeld = await interceptorMemory(stack);
  await Promise.all(all);
  const memoryAfter = await interceptorMemory(stack);
  return { answered, failed, failures: Object.fromEntries(failures), connectedMs, drainMs: lastAt - firstAt, totalMs: lastAt - started, memoryBefore, memoryHeld, memoryAfter, held };
}

async function bench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { wakes: { type: 'string', default: '15' }, baseline: { type: 'string', default: '15' }, connections: { type: 'string', default: '0' } } });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  await clusterOrExit('bench/coldstart.ts');
  // The interceptor's debug lines time its steps.
  process.env.LULL_INTERCEPTOR_LOG_LEVEL ??= 'debug';
  const stack = await startStack({ scope: 'coldstart', log: (l) => log(`[stack] ${l}`) });
  let ns: string | undefined;
  try {
    ns = await stack.namespace('lull-bench-coldstart');
    await stack.kubectl.apply(deployment(ns, 'cold', {}));
    await stack.kubectl.apply(service(ns, 'cold'));
    await stack.kubectl.apply(deployment(ns, 'direct', { 'lull.dev/enabled': 'false' }));
    const wakes: Wake[] = [];
    const direct: DirectWake[] = [];
    const count = Number(values.wakes);
    const baseline = Number(values.baseline);
    log(`cold start: ${count} wakes of the fixture app from zero through Lull, ${baseline} without Lull, interleaved`);
    for (let i = 0; i < Math.max(count, baseline); i++) {
      if (i < count) {
        const w = await oneWake(stack, ns, 'cold');
        wakes.push(w);
        log(`  wake ${i + 1}: request → response ${(w.answered - w.sent).toFixed(0)} ms, Lull's share ${lullShare(w).toFixed(1)} ms`);
      }
      if (i < baseline) {
        const d = await oneDirectWake(stack, ns, 'direct');
        direct.push(d);
        log(`  baseline ${i + 1}: scale → response ${(d.answered - d.scaleSent).toFixed(0)} ms`);
      }
    }
    if (wakes.length > 0) report(wakes, direct, log);

    const connections = Number(values.connections);
    if (connections > 0) {
      log('');
      log(`capacity: ${connections} connections held during one wake (the app takes 10 s to listen)`);
      await stack.kubectl.apply(deployment(ns, 'many', { 'lull.dev/max-held': '100000', 'lull.dev/hold-timeout': '5m' }, 10_000));
      await stack.kubectl.apply(service(ns, 'many'));
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

if (import.meta.main) await bench(process.argv.slice(2));
