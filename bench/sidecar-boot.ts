// The sidecar's own start, as a waking pod pays it: from exec to its fronted port accepting, and to
// its admin port answering ready for an app already listening. Each entry runs in turn, round by round.
//   node bench/sidecar-boot.ts [--runs 21] [--entry dist/lull.mjs] [--entry bin/lull.ts] [--entry node]
// Listening is seen by connecting to the fronted port every millisecond (a refused local connect is cheap).
// `--entry node` is the yardstick: bare Node opening the same two listeners, nothing else. On a loaded
// machine the absolute figures swell with everything else running; compare entries within one run.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '21' },
    entry: { type: 'string', multiple: true },
  },
});
const RUNS = Number(values.runs);
const ENTRIES = values.entry ?? ['dist/lull.mjs', 'bin/lull.ts', 'node'];
const BARE_NODE = `const n = require('node:net'); const [l] = process.env.LULL_PORTS.split('=');
n.createServer().listen(+l, '127.0.0.1');
n.createServer((s) => s.end('HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n')).listen(+process.env.LULL_ADMIN_PORT, '127.0.0.1');`;
/** A port free now (bound, then released): the machine is shared with other benchmarks. */
async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
const [APP_PORT, SIDECAR_PORT, ADMIN_PORT] = [await freePort(), await freePort(), await freePort()];

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}

function readyAnswer(): Promise<boolean> {
  return fetch(`http://${HOST}:${ADMIN_PORT}/lull/ready`).then(
    (r) => r.status === 200,
    () => false,
  );
}

async function until(check: () => Promise<boolean>, started: number): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error('not up within 10 s');
    await sleep(1);
  }
}

/** The sidecar's own account (exec is a little earlier than Node's time origin): listening after its start. */
async function ownListeningMs(): Promise<number | undefined> {
  const res = await fetch(`http://${HOST}:${ADMIN_PORT}/lull/activity`).catch(() => undefined);
  if (res?.status !== 200) return undefined;
  const boot = ((await res.json()) as { boot?: { processStartedAt: number; listeningAt: number } }).boot;
  return boot === undefined ? undefined : boot.listeningAt - boot.processStartedAt;
}

async function oneStart(entry: string): Promise<{ listening: number; ready: number; own: number | undefined }> {
  const started = performance.now();
  const child = spawn(process.execPath, entry === 'node' ? ['-e', BARE_NODE] : [entry, 'sidecar'], {
    cwd: ROOT,
    env: { ...process.env, LULL_PORTS: `${SIDECAR_PORT}=${APP_PORT}`, LULL_ADMIN_PORT: String(ADMIN_PORT), LULL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const listening = await until(() => accepts(SIDECAR_PORT), started);
    const ready = await until(readyAnswer, started);
    return { listening, ready, own: entry === 'node' ? undefined : await ownListeningMs() };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const app = createServer((_req, res) => res.end('ok')).listen(APP_PORT, HOST);
const results = new Map(ENTRIES.map((e) => [e, { listening: [] as number[], ready: [] as number[], own: [] as number[] }]));
for (const entry of ENTRIES) await oneStart(entry); // Warm-up: the page cache and any compile cache.
for (let i = 0; i < RUNS; i++) {
  for (const entry of ENTRIES) {
    const r = await oneStart(entry);
    results.get(entry)!.listening.push(r.listening);
    results.get(entry)!.ready.push(r.ready);
    if (r.own !== undefined) results.get(entry)!.own.push(r.own);
  }
}
app.close();
process.stdout.write(`sidecar start, ${RUNS} runs each (ms; exec → fronted port accepts, exec → /lull/ready 200 with the app up)\n`);
for (const [entry, r] of results) {
  const f = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)}  p90 ${percentile(xs, 90).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}`;
  const own = r.own.length > 0 ? `   (its own account, time origin → listening: p50 ${percentile(r.own, 50).toFixed(1)})` : '';
  process.stdout.write(`  ${entry.padEnd(14)} listening ${f(r.listening)}   ready ${f(r.ready)}${own}\n`);
}
