// The cold-start benchmark's app: an HTTP server that starts as fast as Node can (one builtin, no
// packages), plus a side port telling when its process began, when it listened and when its first
// request arrived, so the app's own part of a wake can be taken out.
//   node bench/coldstart-app.ts [--port 8080] [--delay MS]
const origin = performance.timeOrigin;
const { createServer } = process.getBuiltinModule('node:http');
const { parseArgs } = process.getBuiltinModule('node:util');

const INFO_PORT = 8081;
const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, delay: { type: 'string', default: '0' } } });
const hello = Buffer.from(`hello from ${process.env.HOSTNAME ?? 'coldstart'}\n`);
let listeningAt = 0;
let firstRequestAt = 0;

// The side port opens first, so nothing is left to do once the app listens.
createServer((_req, res) => res.end(JSON.stringify({ timeOrigin: origin, listeningAt, firstRequestAt }))).listen(INFO_PORT, '0.0.0.0');
const app = createServer((req, res) => {
  if (firstRequestAt === 0 && !String(req.headers['user-agent']).startsWith('kube-probe')) firstRequestAt = performance.timeOrigin + performance.now();
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': hello.length });
  res.end(hello);
});
const delay = Number(values.delay);
if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
app.listen(Number(values.port), '0.0.0.0', () => {
  listeningAt = performance.timeOrigin + performance.now();
});
process.once('SIGTERM', () => process.exit(0));
