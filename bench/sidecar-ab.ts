// A/B throughput of two sidecar builds (say main and a branch) in front of the same node:http app:
// autocannon, keep-alive, runs alternated A, B, A, B... and the median of each reported.
//   node bench/sidecar-ab.ts --a /path/to/checkout-a --b /path/to/checkout-b [--rounds 5] [--duration 5] [--connections 50]
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    path: { type: 'string', default: '/' },
  },
});
if (args.a === undefined || args.b === undefined) throw new Error('usage: node bench/sidecar-ab.ts --a DIR --b DIR');
const APP_PORT = 19411;

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function listening(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: HOST, port }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(cwd: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, argv, { cwd, env: { ...process.env, LULL_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

const children: ChildProcess[] = [];
children.push(start(resolve(args.a), ['test/fixtures/http-app.ts', '--port', String(APP_PORT), '--host', HOST, '--keep-alive-ms', '600000']));
const sides = [
  { name: 'A', dir: resolve(args.a), port: 19412, rps: [] as number[] },
  { name: 'B', dir: resolve(args.b), port: 19414, rps: [] as number[] },
];
for (const side of sides) {
  children.push(start(side.dir, ['bin/lull.ts', 'sidecar'], { LULL_PORTS: `${side.port}=${APP_PORT}`, LULL_ADMIN_PORT: String(side.port + 1) }));
}
try {
  await listening(APP_PORT);
  for (const side of sides) await listening(side.port);
  const run = async (port: number, duration: number) =>
    (await autocannon({ url: `http://${HOST}:${port}${args.path}`, connections: Number(args.connections), duration, pipelining: 1 })).requests.average;
  const direct: number[] = [];
  for (const side of sides) await run(side.port, 1); // warm-up
  for (let round = 0; round < Number(args.rounds); round++) {
    direct.push(await run(APP_PORT, Number(args.duration)));
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) side.rps.push(await run(side.port, Number(args.duration)));
  }
  process.stdout.write(`direct: median ${median(direct).toFixed(0)} req/s  ${direct.map((x) => x.toFixed(0)).join(' ')}\n`);
  for (const side of sides) {
    process.stdout.write(`${side.name} (${side.dir}): median ${median(side.rps).toFixed(0)} req/s (${(median(side.rps) / median(direct)).toFixed(2)}x direct)  ${side.rps.map((x) => x.toFixed(0)).join(' ')}\n`);
  }
} finally {
  for (const c of children) c.kill();
}
