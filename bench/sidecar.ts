// Sidecar overhead, as ratios against the app reached directly in the same run:
//   1. maximum throughput (autocannon, keep-alive, N connections), direct vs through the sidecar;
//   2. added latency p50/p99 at a fixed rate of half the sidecar's maximum (an open-loop generator
//      timing each request in microseconds: autocannon's histogram has 1 ms resolution, and its
//      rate limiting waits for responses, hiding queueing);
//   3. resident memory for 10,000 idle keep-alive connections.
// The app and the sidecar run as child processes; figures are medians over rounds.
//   node bench/sidecar.ts [--rounds 3] [--duration 5] [--connections 50] [--idle 10000]
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';
const CLK_TCK = 100;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    idle: { type: 'string', default: '10000' },
    'app-port': { type: 'string', default: '19401' },
    'sidecar-port': { type: 'string', default: '19402' },
    'admin-port': { type: 'string', default: '19403' },
  },
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const IDLE = Number(args.idle);
const APP_PORT = Number(args['app-port']);
const SIDECAR_PORT = Number(args['sidecar-port']);
const ADMIN_PORT = Number(args['admin-port']);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Starts a child and resolves once it prints its first line (the app) or its admin port answers (the sidecar). */
async function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, LULL_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.resume();
  return child;
}

async function startApp(): Promise<ChildProcess> {
  const child = await startChild(['test/fixtures/http-app.ts', '--port', String(APP_PORT), '--host', HOST, '--keep-alive-ms', '600000']);
  await new Promise<void>((ok, fail) => {
    child.stdout!.once('data', () => ok());
    child.once('exit', (code) => fail(new Error(`app exited with ${code}`)));
  });
  return child;
}

async function startSidecarProcess(): Promise<ChildProcess> {
  const child = await startChild(['bin/lull.ts', 'sidecar'], {
    LULL_PORTS: `${SIDECAR_PORT}=${APP_PORT}`,
    LULL_ADMIN_PORT: String(ADMIN_PORT),
  });
  // Long-poll wait-ready until the admin port is up and the app is seen.
  for (;;) {
    try {
      const res = await fetch(`http://${HOST}:${ADMIN_PORT}/lull/wait-ready?timeout=10s`);
      if (res.status === 200) return child;
    } catch {
      await new Promise((r) => setTimeout(r, 20)); // The admin port is not listening yet: nothing to await.
    }
  }
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

interface Throughput {
  rps: number;
  errors: number;
}

async function maxThroughput(port: number, seconds: number): Promise<Throughput> {
  const r = await autocannon({ url: `http://${HOST}:${port}/`, connections: CONNECTIONS, duration: seconds });
  return { rps: r.requests.average, errors: r.errors + r.non2xx + r.timeouts };
}

interface Latency {
  p50: number;
  p99: number;
  achieved: number;
}

/** The byte length of the fixture's answer to GET /: fixed, so a response can be counted without parsing. */
async function responseLength(port: number): Promise<number> {
  const s = connect({ host: HOST, port });
  s.write(REQUEST);
  let text = '';
  for await (const chunk of s) {
    text += (chunk as Buffer).toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n');
    const length = /content-length: (\d+)/i.exec(text);
    if (headEnd >= 0 && length !== null && text.length >= headEnd + 4 + Number(length[1])) break;
  }
  s.destroy();
  return text.length;
}

interface Conn {
  socket: Socket;
  /** When the request in flight on it fell due. */
  due: number;
  received: number;
}

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');

/**
 * Open loop: requests fall due at a fixed rate whatever the answers do, so queueing shows. A raw keep-alive client that counts fixed-size responses keeps the generator's own CPU small.
 */
async function fixedRateLatency(port: number, rate: number, seconds: number): Promise<Latency> {
  const length = await responseLength(port);
  const total = Math.round(rate * seconds);
  const samples = new Float64Array(total);
  const backlog: number[] = [];
  const idle: Conn[] = [];
  const conns: Conn[] = [];
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const send = (conn: Conn, due: number) => {
    conn.due = due;
    conn.socket.write(REQUEST);
  };
  for (let i = 0; i < CONNECTIONS; i++) {
    const conn: Conn = { socket: connect({ host: HOST, port, noDelay: true }), due: 0, received: 0 };
    await once(conn.socket, 'connect');
    conn.socket.on('data', (chunk: Buffer) => {
      conn.received += chunk.length;
      if (conn.received < length) return;
      conn.received -= length;
      samples[done++] = (performance.now() - conn.due) * 1000;
      if (done === total) return finish();
      const next = backlog.shift();
      if (next === undefined) idle.push(conn);
      else send(conn, next);
    });
    conns.push(conn);
    idle.push(conn);
  }
  let sent = 0;
  const start = performance.now();
  const tick = () => {
    // Timed from when this tick releases a request (not its exact due time), so the 1 ms tick is not
    // counted as latency; a request that then waits for a free connection is timed from its release.
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
    while (sent < due) {
      sent++;
      const conn = idle.pop();
      if (conn === undefined) backlog.push(now);
      else send(conn, now);
    }
    if (sent < total) setTimeout(tick, 1); // A 1 ms tick releases what is due; spinning would steal a core.
  };
  tick();
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  for (const c of conns) c.socket.destroy();
  samples.sort();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), achieved: total / elapsed };
}

/** Opens `n` keep-alive connections, makes one request on each, and leaves them idle. */
async function idleConnections(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 500;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () =>
        new Promise<Socket>((ok, fail) => {
          const s = connect({ host: HOST, port }, () => s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
          s.once('data', () => ok(s));
          s.once('error', fail);
        }),
      ),
    );
    sockets.push(...opened);
  }
  return sockets;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000)); // Let RSS settle after a burst; nothing to await on.
}

async function idleMemory(port: number, pids: number[]): Promise<number[]> {
  await settle();
  const before = pids.map(rssMiB);
  const sockets = await idleConnections(port, IDLE);
  await settle();
  const after = pids.map(rssMiB);
  for (const s of sockets) s.destroy();
  await settle();
  return after.map((a, i) => a - before[i]!);
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const app = await startApp();
  const sidecar = await startSidecarProcess();
  const appPid = app.pid!;
  const sidecarPid = sidecar.pid!;
  try {
    process.stdout.write(`sidecar benchmark: ${ROUNDS} rounds, ${DURATION_S}s runs, ${CONNECTIONS} connections, ${IDLE} idle connections\n`);
    await maxThroughput(APP_PORT, 1);
    await maxThroughput(SIDECAR_PORT, 1);

    const direct: number[] = [];
    const through: number[] = [];
    const ratios: number[] = [];
    const sidecarCpuUs: number[] = [];
    const appCpuUs: number[] = [];
    let errors = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const d = await maxThroughput(APP_PORT, DURATION_S);
      const cpu0 = [cpuSeconds(appPid), cpuSeconds(sidecarPid)];
      const s = await maxThroughput(SIDECAR_PORT, DURATION_S);
      const cpu1 = [cpuSeconds(appPid), cpuSeconds(sidecarPid)];
      const requests = s.rps * DURATION_S;
      appCpuUs.push(((cpu1[0]! - cpu0[0]!) / requests) * 1e6);
      sidecarCpuUs.push(((cpu1[1]! - cpu0[1]!) / requests) * 1e6);
      direct.push(d.rps);
      through.push(s.rps);
      ratios.push(s.rps / d.rps);
      errors += d.errors + s.errors;
      process.stdout.write(`  round ${r + 1}: direct ${fmt(d.rps, 0)} req/s, sidecar ${fmt(s.rps, 0)} req/s, ratio ${fmt(s.rps / d.rps)}\n`);
    }
    const rate = Math.round(median(through) / 2);

    const addedP50: number[] = [];
    const addedP99: number[] = [];
    const lat: { d: Latency; s: Latency }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const d = await fixedRateLatency(APP_PORT, rate, DURATION_S);
      const s = await fixedRateLatency(SIDECAR_PORT, rate, DURATION_S);
      lat.push({ d, s });
      addedP50.push(s.p50 - d.p50);
      addedP99.push(s.p99 - d.p99);
      process.stdout.write(
        `  round ${r + 1} at ${rate} req/s: direct p50 ${fmt(d.p50, 0)}µs p99 ${fmt(d.p99, 0)}µs, sidecar p50 ${fmt(s.p50, 0)}µs p99 ${fmt(s.p99, 0)}µs\n`,
      );
    }

    const [directAppMiB] = await idleMemory(APP_PORT, [appPid]);
    const [sidecarMiB, appBehindSidecarMiB] = await idleMemory(SIDECAR_PORT, [sidecarPid, appPid]);

    const summary = {
      throughput: {
        directRps: Math.round(median(direct)),
        sidecarRps: Math.round(median(through)),
        ratio: Number(fmt(median(ratios), 3)),
        goal: 0.75,
        sidecarCpuUsPerRequest: Number(fmt(median(sidecarCpuUs), 1)),
        appCpuUsPerRequest: Number(fmt(median(appCpuUs), 1)),
        errors,
      },
      latencyAtFixedRate: {
        rate,
        directP50Us: Math.round(median(lat.map((l) => l.d.p50))),
        directP99Us: Math.round(median(lat.map((l) => l.d.p99))),
        sidecarP50Us: Math.round(median(lat.map((l) => l.s.p50))),
        sidecarP99Us: Math.round(median(lat.map((l) => l.s.p99))),
        addedP50Ms: Number(fmt(median(addedP50) / 1000, 3)),
        addedP99Ms: Number(fmt(median(addedP99) / 1000, 3)),
        goalAddedP99Ms: 1,
      },
      idleKeepAlive: {
        connections: IDLE,
        directAppMiB: Number(fmt(directAppMiB!, 1)),
        sidecarMiB: Number(fmt(sidecarMiB!, 1)),
        appBehindSidecarMiB: Number(fmt(appBehindSidecarMiB!, 1)),
        sidecarKiBPerConnection: Number(fmt((sidecarMiB! * 1024) / IDLE, 2)),
      },
      cores: (await import('node:os')).availableParallelism(),
    };
    const t = summary.throughput;
    const l = summary.latencyAtFixedRate;
    const m = summary.idleKeepAlive;
    process.stdout.write(
      [
        '',
        `throughput   direct ${t.directRps} req/s, through sidecar ${t.sidecarRps} req/s: ratio ${t.ratio} (goal ≥ ${t.goal})`,
        `             CPU per request: sidecar ${t.sidecarCpuUsPerRequest} µs, app ${t.appCpuUsPerRequest} µs; errors ${t.errors}`,
        `latency      at ${l.rate} req/s: direct p50 ${l.directP50Us} µs p99 ${l.directP99Us} µs; sidecar p50 ${l.sidecarP50Us} µs p99 ${l.sidecarP99Us} µs`,
        `             added p50 ${l.addedP50Ms} ms, added p99 ${l.addedP99Ms} ms (goal ≤ ${l.goalAddedP99Ms} ms)`,
        `idle memory  ${m.connections} keep-alive connections: sidecar +${m.sidecarMiB} MiB (${m.sidecarKiBPerConnection} KiB each), app behind it +${m.appBehindSidecarMiB} MiB; app direct +${m.directAppMiB} MiB`,
        `JSON ${JSON.stringify(summary)}`,
        '',
      ].join('\n'),
    );
  } finally {
    sidecar.kill('SIGKILL');
    app.kill('SIGKILL');
  }
}

await main();
