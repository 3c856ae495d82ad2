// The Lull sidecar's speed beside its peers, all measured in the same run against the same app (an
// nginx server block answering a fixed body): the app reached directly, through nginx as a reverse
// proxy, through the Lull sidecar, and through Knative Serving's queue-proxy. wrk drives each at
// --connections for throughput and at one connection for latency; then one connection per variant
// with requests alternated across them gives added latency the machine's noise cannot skew. Variants
// are interleaved round by round (in a rotating order) so noise hits them alike; figures are medians
// of rounds. CPU per request is the proxy process's user+system time over the requests it served.
//
//   scripts/build-peers.sh            # once: nginx-light and wrk from Debian, queue-proxy from Go modules
//   node bench/sidecar.ts [--rounds 5] [--duration 5] [--connections 64] [--only nginx,lull,queue]
//                         [--sidecar ../other/bin/lull.ts ...] [--pin on|off] [--profile] [--threads 1]
//                         [--port-base 28400] [--queue-proxy path]
//   node bench/sidecar.ts --mode idle [--idle 5000]   # memory per idle keep-alive connection
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { idleMemoryMiB } from './sidecar/idle.ts';
import { pairedLatency, type Percentiles } from './sidecar/paired.ts';
import { assertPortsFree, cleanUp, cpuSeconds, rememberTempDir } from './sidecar/processes.ts';
import { topSelfTime } from './sidecar/profile.ts';
import { startApp, startLullSidecar, startNginxProxy, startQueueProxy, type Server } from './sidecar/servers.ts';
import { wrk, writeReportScript, type WrkResult } from './sidecar/wrk.ts';

const ROOT = resolve(import.meta.dirname, '..');
const GOALS = { vsNginx: 0.9, vsQueue: 2, addedP99Ms: 0.3 };

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'speed' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    only: { type: 'string', default: 'nginx,lull,queue' },
    sidecar: { type: 'string', multiple: true },
    pin: { type: 'string', default: 'on' },
    profile: { type: 'boolean', default: false },
    idle: { type: 'string', default: '5000' },
    'port-base': { type: 'string', default: '28400' },
    'queue-proxy': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

// --help prints the usage kept in this file's opening comment.
if (args.help) {
  process.stdout.write(`${readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}

function bad(message: string): never {
  process.stderr.write(`bench/sidecar.ts: ${message}\n`);
  process.exit(2);
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) bad(`--${name} ${value}: a whole number ≥ 1 is allowed`);
  return n;
}

const MODE = args.mode;
if (MODE !== 'speed' && MODE !== 'idle') bad(`--mode ${MODE}: "speed" or "idle" is allowed`);
const ROUNDS = positive('rounds', args.rounds);
const DURATION_S = positive('duration', args.duration);
const CONNECTIONS = positive('connections', args.connections);
const THREADS = positive('threads', args.threads);
const IDLE = positive('idle', args.idle);
const BASE = positive('port-base', args['port-base']);
const PEERS = ['nginx', 'lull', 'queue'] as const;
type Peer = (typeof PEERS)[number];
const ONLY = args.only.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'direct');
for (const p of ONLY) if (!PEERS.includes(p as Peer)) bad(`--only ${args.only}: a comma-separated list of ${PEERS.join(', ')} is allowed (direct is always measured)`);
const wanted = (p: Peer) => ONLY.includes(p);
if (args.pin !== 'on' && args.pin !== 'off') bad(`--pin ${args.pin}: "on" or "off" is allowed`);
// On two or more cores the load generator gets core 0 and the app and proxy core 1, so wrk's own CPU
// does not compete with the proxy it measures (decided by run-to-run variance: docs/bench-sidecar.md).
const PIN = args.pin === 'on' && availableParallelism() >= 2;
const SERVER_CPUS = PIN ? '1' : undefined;
const LOAD_CPUS = PIN ? '0' : undefined;
const SIDECARS = (args.sidecar ?? [join(ROOT, 'bin/lull.ts')]).map((p) => resolve(p));
for (const p of SIDECARS) if (!existsSync(p)) bad(`--sidecar ${p}: no such file; the path of a checkout's bin/lull.ts is allowed`);
const QUEUE_PROXY = args['queue-proxy'] ?? execFileSync(join(ROOT, 'scripts/build-peers.sh'), ['--print-path'], { encoding: 'utf8' }).trim();

/** "lull" alone; "lull:<checkout>" when several sidecars are compared in one run. */
function sidecarLabel(bin: string): string {
  return SIDECARS.length === 1 ? 'lull' : `lull:${basename(resolve(dirname(bin), '..'))}`;
}

const ports = {
  app: BASE,
  nginx: BASE + 1,
  queue: BASE + 2,
  queueTls: BASE + 3,
  sidecar: (i: number) => BASE + 10 + 2 * i,
  admin: (i: number) => BASE + 11 + 2 * i,
};

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Variant {
  label: string;
  kind: 'direct' | Peer;
  server: Server;
  /** The processes whose CPU counts as this variant's overhead (none for direct). */
  proxy?: Server;
}

interface Sample {
  throughput: WrkResult;
  latency: WrkResult;
  paired: Percentiles;
  proxyCpuUs: number;
  proxySysUs: number;
  appCpuUs: number;
}

function cpuOf(pids: number[]): { user: number; system: number } {
  const total = { user: 0, system: 0 };
  for (const pid of pids) {
    const c = cpuSeconds(pid);
    total.user += c.user;
    total.system += c.system;
  }
  return total;
}

interface Measured {
  r: WrkResult;
  proxyCpuUs: number;
  /** The kernel's part of proxyCpuUs (socket reads and writes, loopback TCP). */
  proxySysUs: number;
  appCpuUs: number;
}

async function measure(v: Variant, app: Server, connections: number, seconds: number, script: string): Promise<Measured> {
  const proxyPids = v.proxy?.pids() ?? [];
  const appPids = app.pids();
  const [p0, a0] = [cpuOf(proxyPids), cpuOf(appPids)];
  const r = await wrk({ port: v.server.port, connections, threads: THREADS, seconds, script, cpus: LOAD_CPUS });
  const [p1, a1] = [cpuOf(proxyPids), cpuOf(appPids)];
  const perRequest = (seconds: number) => (seconds / r.requests) * 1e6;
  return {
    r,
    proxyCpuUs: perRequest(p1.user + p1.system - p0.user - p0.system),
    proxySysUs: perRequest(p1.system - p0.system),
    appCpuUs: perRequest(a1.user + a1.system - a0.user - a0.system),
  };
}

async function startVariants(dir: string, app: Server, profileDir: string | undefined): Promise<Variant[]> {
  const variants: Variant[] = [{ label: 'direct', kind: 'direct', server: app }];
  if (wanted('nginx')) {
    const s = await startNginxProxy(dir, ports.nginx, ports.app, SERVER_CPUS);
    variants.push({ label: 'nginx-proxy', kind: 'nginx', server: s, proxy: s });
  }
  if (wanted('lull')) {
    for (const [i, bin] of SIDECARS.entries()) {
      const label = sidecarLabel(bin);
      const s = await startLullSidecar(label, {
        lullBin: bin,
        port: ports.sidecar(i),
        adminPort: ports.admin(i),
        appPort: ports.app,
        cpus: SERVER_CPUS,
        profileDir: i === 0 ? profileDir : undefined,
      });
      variants.push({ label, kind: 'lull', server: s, proxy: s });
    }
  }
  if (wanted('queue')) {
    const s = await startQueueProxy({ binary: QUEUE_PROXY, port: ports.queue, tlsPort: ports.queueTls, appPort: ports.app, cpus: SERVER_CPUS });
    variants.push({ label: 'queue-proxy', kind: 'queue', server: s, proxy: s });
  }
  return variants;
}

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padStart(n);

async function speed(dir: string, app: Server, variants: Variant[]): Promise<void> {
  const script = writeReportScript(dir);
  process.stdout.write(
    `sidecar speed: ${ROUNDS} rounds × ${DURATION_S}s per run, wrk at ${CONNECTIONS} connections for throughput and at 1 for latency, ` +
      `then 1 connection each with requests alternated across variants; ${PIN ? 'load on core 0, app and proxies on core 1' : 'not pinned'}; ` +
      `${variants.map((v) => v.label).join(', ')}\n`,
  );
  for (const v of variants) await wrk({ port: v.server.port, connections: CONNECTIONS, threads: THREADS, seconds: 2, script, cpus: LOAD_CPUS }); // Warm-up (JIT, pools).

  const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    const runs = new Map<string, [Measured, Measured]>();
    for (const v of order) runs.set(v.label, [await measure(v, app, CONNECTIONS, DURATION_S, script), await measure(v, app, 1, DURATION_S, script)]);
    const paired = await pairedLatency(
      variants.map((v) => v.server.port),
      DURATION_S,
    );
    const line: string[] = [];
    for (const [i, v] of variants.entries()) {
      const [t, l] = runs.get(v.label)!;
      samples.get(v.label)!.push({ throughput: t.r, latency: l.r, paired: paired[i]!, proxyCpuUs: t.proxyCpuUs, proxySysUs: t.proxySysUs, appCpuUs: t.appCpuUs });
      line.push(`${v.label} ${f(t.r.rps, 0)} req/s, p99 ${paired[i]!.p99Us.toFixed(0)}µs`);
    }
    process.stdout.write(`  round ${round + 1}: ${line.join('; ')}\n`);
  }

  const ofRound = (label: string | undefined, round: number) => (label === undefined ? undefined : samples.get(label)![round]);
  const nginxLabel = variants.find((v) => v.kind === 'nginx')?.label;
  const queueLabel = variants.find((v) => v.kind === 'queue')?.label;
  const perRound = (v: Variant, fn: (s: Sample, round: number) => number) => median(samples.get(v.label)!.map(fn));
  // Ratios and differences are taken within a round (same noise), then the median over rounds.
  const ratioTo = (other: string | undefined) => (s: Sample, round: number) => s.throughput.rps / (ofRound(other, round)?.throughput.rps ?? NaN);
  const added = (pick: (s: Sample) => number) => (s: Sample, round: number) => (pick(s) - pick(ofRound('direct', round)!)) / 1000;
  const summary = variants.map((v) => ({
    variant: v.label,
    rps: perRound(v, (s) => s.throughput.rps),
    vsDirect: perRound(v, ratioTo('direct')),
    vsNginx: perRound(v, ratioTo(nginxLabel)),
    vsQueue: perRound(v, ratioTo(queueLabel)),
    wrkP50Us: perRound(v, (s) => s.latency.p50Us),
    wrkP99Us: perRound(v, (s) => s.latency.p99Us),
    wrkAddedP50Ms: perRound(v, added((s) => s.latency.p50Us)),
    wrkAddedP99Ms: perRound(v, added((s) => s.latency.p99Us)),
    p50Us: perRound(v, (s) => s.paired.p50Us),
    p99Us: perRound(v, (s) => s.paired.p99Us),
    addedP50Ms: perRound(v, added((s) => s.paired.p50Us)),
    addedP99Ms: perRound(v, added((s) => s.paired.p99Us)),
    proxyCpuUsPerRequest: v.proxy === undefined ? NaN : perRound(v, (s) => s.proxyCpuUs),
    proxySysShare: v.proxy === undefined ? NaN : perRound(v, (s) => s.proxySysUs / s.proxyCpuUs),
    appCpuUsPerRequest: perRound(v, (s) => s.appCpuUs),
    errors: samples.get(v.label)!.reduce((a, s) => a + s.throughput.errors + s.latency.errors, 0),
  }));

  const direct = (label: string) => label === 'direct';
  const head = ['variant', 'req/s', '×direct', '×nginx', '×queue', 'p50/p99 µs', '+p50 ms', '+p99 ms', 'wrk@1 p50/p99 µs', 'wrk@1 +p50/+p99 ms', 'proxy CPU µs/req', 'kernel', 'app CPU µs/req', 'errors'];
  const rows = summary.map((s) => [
    s.variant,
    f(s.rps, 0),
    f(s.vsDirect),
    f(s.vsNginx),
    f(s.vsQueue),
    `${f(s.p50Us, 0)}/${f(s.p99Us, 0)}`,
    direct(s.variant) ? '' : f(s.addedP50Ms, 3),
    direct(s.variant) ? '' : f(s.addedP99Ms, 3),
    `${f(s.wrkP50Us, 0)}/${f(s.wrkP99Us, 0)}`,
    direct(s.variant) ? '' : `${f(s.wrkAddedP50Ms, 3)}/${f(s.wrkAddedP99Ms, 3)}`,
    f(s.proxyCpuUsPerRequest, 1),
    Number.isFinite(s.proxySysShare) ? `${f(s.proxySysShare * 100, 0)}%` : '',
    f(s.appCpuUsPerRequest, 1),
    String(s.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const out = [head, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : pad(c, widths[i]!))).join('  '));
  process.stdout.write(
    `\nmedians of ${ROUNDS} rounds. req/s: wrk at ${CONNECTIONS} connections. p50/p99: one connection per variant, requests alternated ` +
      `across variants; + = minus direct in the same round. wrk@1: wrk at one connection, each variant in its own run. ` +
      `CPU: user+system per request at ${CONNECTIONS} connections; kernel = its system share.\n${out.join('\n')}\n\n`,
  );

  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const cpu = (label: string | undefined) => summary.find((x) => x.variant === label)?.proxyCpuUsPerRequest ?? NaN;
  for (const s of summary.filter((x) => x.variant.startsWith('lull'))) {
    // One proxy process on one core: its throughput ceiling is the inverse of its CPU per request, a steadier figure when the machine is shared.
    const byCpu = (other: string | undefined) => `by CPU per request ${f(cpu(other) / s.proxyCpuUsPerRequest)}`;
    const lines = [
      `${s.variant} / nginx-proxy throughput  ${f(s.vsNginx)}, ${byCpu(nginxLabel)}  (goal ≥ ${GOALS.vsNginx}: ${Number.isFinite(s.vsNginx) ? met(s.vsNginx >= GOALS.vsNginx) : 'not measured'})`,
      `${s.variant} / queue-proxy throughput  ${f(s.vsQueue)}, ${byCpu(queueLabel)}  (goal ≥ ${GOALS.vsQueue}: ${Number.isFinite(s.vsQueue) ? met(s.vsQueue >= GOALS.vsQueue) : 'not measured'})`,
      `${s.variant} added p99 at 1 connection ${f(s.addedP99Ms, 3)} ms, wrk's separate runs ${f(s.wrkAddedP99Ms, 3)} ms  (goal ≤ ${GOALS.addedP99Ms} ms: ${met(s.addedP99Ms <= GOALS.addedP99Ms)})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.stdout.write(`JSON ${JSON.stringify({ rounds: ROUNDS, durationS: DURATION_S, connections: CONNECTIONS, pinned: PIN, cores: availableParallelism(), summary })}\n`);
}

async function idle(variants: Variant[], app: Server): Promise<void> {
  process.stdout.write(`idle keep-alive memory: ${IDLE} connections, one request each, then idle\n`);
  for (const v of variants) {
    const pids = (v.proxy ?? app).pids();
    const mib = await idleMemoryMiB(v.server.port, pids, IDLE);
    process.stdout.write(`  ${v.label.padEnd(14)} +${f(mib, 1)} MiB  (${f((mib * 1024) / IDLE, 2)} KiB per connection${v.proxy === undefined ? ', the app itself' : ''})\n`);
  }
}

async function stopForProfile(v: Variant, profileDir: string): Promise<void> {
  const { child } = v.server.started;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM'); // A clean exit is what makes node write the profile.
  const timedOut = await Promise.race([exited.then(() => false), new Promise((r) => setTimeout(r, 10_000, true))]);
  if (timedOut) throw new Error(`${v.label} did not exit within 10 s of SIGTERM: no profile`);
  const top = topSelfTime(profileDir, resolve(dirname(SIDECARS[0]!), '..'));
  process.stdout.write(`\n${v.label} CPU profile over the whole run, top 10 by self time (share of busy time):\n`);
  for (const t of top) process.stdout.write(`  ${pad(f(t.share * 100, 1), 5)}%  ${pad(f(t.ms, 0), 7)} ms  ${t.fn}\n`);
}

async function main(): Promise<void> {
  const budgetS = 90 + (ONLY.length + SIDECARS.length + 1) * (MODE === 'speed' ? 3 + ROUNDS * 2 * (DURATION_S + 3) : 30);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench/sidecar.ts: still running after its ${budgetS} s budget; stopping\n`);
    cleanUp();
    process.exit(1);
  }, budgetS * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
  process.once('exit', cleanUp);

  const needed = [ports.app, ports.nginx, ports.queue, ports.queueTls, ...SIDECARS.flatMap((_, i) => [ports.sidecar(i), ports.admin(i)])];
  await assertPortsFree(wanted('queue') ? [...needed, 8022, 9090, 9091] : needed);
  // This process's own load (the paired latency client) goes where wrk runs, away from the proxies.
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', LOAD_CPUS!, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'lull-bench-sidecar-'));
  rememberTempDir(dir);
  chmodSync(dir, 0o755); // nginx workers drop to an unprivileged user when started as root.
  const profileDir = args.profile && wanted('lull') ? join(dir, 'profile') : undefined;
  try {
    const app = await startApp(dir, ports.app, SERVER_CPUS);
    const variants = await startVariants(dir, app, profileDir);
    if (MODE === 'idle') await idle(variants, app);
    else await speed(dir, app, variants);
    if (profileDir !== undefined) await stopForProfile(variants.find((v) => v.kind === 'lull')!, profileDir);
  } finally {
    cleanUp();
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/sidecar.ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
