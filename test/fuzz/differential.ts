// Differential test of the sidecar's HTTP/1 framing against llhttp (Node's own parser, as a real
// node:http server and client run it). Requests: the same bytes go straight to a recording node:http
// server (the reference) and through the sidecar to an identical one (the app); the app must see a
// prefix of the reference's requests, each head parsed by the sidecar itself, and anything cut short
// must have been refused by the sidecar. Responses: a raw TCP app writes the same bytes to a node:http
// client directly and through the sidecar; the client through the sidecar sees the same response or a
// refusal, and the next client on another connection always gets its own answer.
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { startSidecar, type RunningSidecar } from '../../sidecar/sidecar.ts';
import { requestCase, responseCase, type RequestCase, type ResponseCase } from './generate.ts';

const HOST = '127.0.0.1';
/** Longest a case may take on one side; past it the side counts as hung. */
const CASE_TIMEOUT_MS = 1500;
/** Response cases in flight at once (a slow case waits out its timeout without holding up the rest). */
const RESPONSE_CONCURRENCY = 8;

interface Seen {
  method: string;
  url: string;
  body: string;
  /** X-Forwarded-Proto headers: exactly one means the sidecar parsed this head itself. */
  forwardedMarks: number;
  /** Its Connection header asks to close. */
  closes: boolean;
}

interface Recorder {
  server: Server;
  port: number;
  requests: Seen[];
  /** llhttp's refusals (clientError codes) of what reached this server. */
  errors: string[];
}

async function recorder(): Promise<Recorder> {
  const rec: Recorder = { server: createServer(), port: 0, requests: [], errors: [] };
  rec.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      rec.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString('latin1'),
        forwardedMarks: req.headersDistinct['x-forwarded-proto']?.length ?? 0,
        closes: /close/i.test(req.headers.connection ?? ''),
      });
      res.end('ok');
    });
  });
  rec.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    rec.errors.push(err.code ?? 'error');
    socket.destroy();
  });
  rec.server.on('upgrade', (_req, socket: Socket) => {
    rec.errors.push('upgrade');
    socket.destroy();
  });
  rec.server.on('connect', (_req, socket: Socket) => {
    rec.errors.push('connect');
    socket.destroy();
  });
  rec.server.listen(0, HOST);
  await once(rec.server, 'listening');
  rec.port = (rec.server.address() as AddressInfo).port;
  return rec;
}

/** Writes `bytes`, half-closes, and collects the answer until the connection closes (or a timeout). */
async function exchange(port: number, bytes: string): Promise<{ answer: string; hung: boolean }> {
  const socket = connect({ host: HOST, port, allowHalfOpen: false });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  socket.end(Buffer.from(bytes, 'latin1'));
  let timer: NodeJS.Timeout | undefined;
  const hung = await Promise.race([
    once(socket, 'close').then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CASE_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  socket.destroy();
  return { answer: Buffer.concat(chunks).toString('latin1'), hung };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

export interface Verdict {
  /** 'same': identical framing; 'refused': the sidecar refused at or before llhttp; else a failure. */
  outcome: 'same' | 'refused' | 'tunnelled' | 'fail';
  reason?: string;
}

export interface Tally {
  cases: number;
  same: number;
  refused: number;
  /** Not HTTP/1 by the first line: passed through at layer 4 unchanged. */
  tunnelled: number;
  /** Valid (unmutated) streams the sidecar refused: should be none. */
  validRefused: number;
  failures: { seed: number; bytes: string; reason: string }[];
}

function key(s: Seen): string {
  return JSON.stringify([s.method, s.url, s.body]);
}

export interface RequestRig {
  run(c: RequestCase): Promise<Verdict>;
  close(): Promise<void>;
}

export async function requestRig(): Promise<RequestRig> {
  const reference = await recorder();
  const app = await recorder();
  const sidecar: RunningSidecar = await startSidecar(
    {
      ports: [{ listen: 0, app: app.port }],
      adminPort: 0,
      appHost: HOST,
      readiness: { kind: 'tcp', host: HOST, port: app.port, timeoutMs: 1000 },
      drainQuietMs: 2000,
      drainMaxMs: 30_000,
    },
    { listenHost: HOST },
  );
  const port = sidecar.ports[0]!.listen;
  return {
    async run(c) {
      reference.requests.length = 0;
      reference.errors.length = 0;
      app.requests.length = 0;
      app.errors.length = 0;
      const tunnelsBefore = sidecar.activity.connectionsTotal;
      await exchange(reference.port, c.bytes);
      const via = await exchange(port, c.bytes);
      if (via.hung) return { outcome: 'fail', reason: 'the connection through the sidecar hung' };
      if (sidecar.activity.connectionsTotal !== tunnelsBefore) {
        // Not HTTP/1 by its first line (Redis-like text, say): passed through at layer 4, byte for byte,
        // on an app connection of its own, so the app parses exactly what llhttp parsed.
        await until(() => app.requests.length >= reference.requests.length && app.errors.length >= reference.errors.length, 500);
        if (app.requests.some((r) => r.forwardedMarks !== 0)) return { outcome: 'fail', reason: 'a tunnelled connection was changed' };
        if (JSON.stringify(app.requests.map(key)) !== JSON.stringify(reference.requests.map(key))) return { outcome: 'fail', reason: 'a tunnelled connection reached the app differently' };
        return { outcome: 'tunnelled' };
      }
      // The app may still be reading what the sidecar forwarded just before it closed.
      await until(() => sidecar.activity.requestsInFlight === 0, 500);
      if (sidecar.activity.requestsInFlight !== 0) return { outcome: 'fail', reason: `${sidecar.activity.requestsInFlight} request(s) left in flight` };
      // Resets and cut-short messages at the app follow from the sidecar closing a refused exchange.
      const appErrors = app.errors.filter((e) => e !== 'ECONNRESET' && e !== 'EPIPE' && e !== 'HPE_INVALID_EOF_STATE');
      if (appErrors.length > 0) return { outcome: 'fail', reason: `the sidecar forwarded what llhttp refuses: ${appErrors.join(', ')}` };
      for (const s of app.requests) {
        if (s.forwardedMarks !== 1) return { outcome: 'fail', reason: `the app parsed a request head the sidecar did not (${s.method} ${s.url})` };
      }
      const refKeys = reference.requests.map(key);
      const appKeys = app.requests.map(key);
      for (let k = 0; k < appKeys.length; k++) {
        if (appKeys[k] !== refKeys[k]) return { outcome: 'fail', reason: `request ${k} differs: llhttp ${refKeys[k]} vs through the sidecar ${appKeys[k]}` };
      }
      if (appKeys.length === refKeys.length) return { outcome: 'same' };
      // Shorter without a refusal only after a request that asked to close (llhttp ignores close on an
      // HTTP/1.0 keep-alive request, Go does not: the sidecar stops after it, as either would).
      if (!via.answer.includes('X-Lull-Refusal: ') && app.requests.at(-1)?.closes !== true) {
        return { outcome: 'fail', reason: `the app saw ${appKeys.length} of ${refKeys.length} requests, without a refusal` };
      }
      return { outcome: 'refused' };
    },
    async close() {
      await sidecar.close(0);
      reference.server.closeAllConnections();
      app.server.closeAllConnections();
      reference.server.close();
      app.server.close();
    },
  };
}

interface Got {
  status: number;
  body: string;
  refusal: boolean;
  error?: string;
}

/** GET on a fresh connection: the response as llhttp read it, and its error if one came (even after a whole response). */
function get(port: number, path: string, settleMs = 0): Promise<Got> {
  return new Promise((resolve) => {
    const agent = new Agent({ keepAlive: false });
    const got: Got = { status: 0, body: '', refusal: false };
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      got.body = Buffer.concat(chunks).toString('latin1');
      if (error !== undefined) got.error = error;
      // Bytes after a whole response surface as an error on the next turns: give them a moment.
      setTimeout(() => resolve(got), error === undefined ? settleMs : 0);
    };
    const req = request({ host: HOST, port, path, agent, timeout: CASE_TIMEOUT_MS }, (res) => {
      got.status = res.statusCode ?? 0;
      got.refusal = res.headers['x-lull-refusal'] !== undefined;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => settle());
      res.on('error', (err: NodeJS.ErrnoException) => settle(err.code ?? err.message));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) got.error ??= err.code ?? err.message;
      else settle(err.code ?? err.message);
    });
    req.end();
  });
}

export interface ResponseRig {
  run(c: ResponseCase): Promise<Verdict>;
  close(): Promise<void>;
}

const MARKER = (path: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${`marker ${path}`.length}\r\n\r\nmarker ${path}`;

export async function responseRig(): Promise<ResponseRig> {
  // Cases run concurrently: each is answered by its own path, so one case's bytes can only reach
  // another's client through a reused app connection that is out of step.
  const cases = new Map<string, ResponseCase>();
  const sockets = new Set<Socket>();
  const app = createTcpServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const line = buffered.slice(0, buffered.indexOf('\r\n'));
        buffered = buffered.slice(end + 4);
        const path = line.split(' ')[1] ?? '';
        const c = cases.get(path);
        if (c !== undefined) {
          socket.write(Buffer.from(c.bytes, 'latin1'));
          if (c.closeAfter) socket.end();
        } else socket.write(MARKER(path));
      }
    });
  });
  app.listen(0, HOST);
  await once(app, 'listening');
  const appPort = (app.address() as AddressInfo).port;
  const sidecar = await startSidecar(
    {
      ports: [{ listen: 0, app: appPort }],
      adminPort: 0,
      appHost: HOST,
      readiness: { kind: 'tcp', host: HOST, port: appPort, timeoutMs: 1000 },
      drainQuietMs: 2000,
      drainMaxMs: 30_000,
    },
    { listenHost: HOST },
  );
  const port = sidecar.ports[0]!.listen;
  return {
    async run(c) {
      const path = `/case${c.seed}`;
      cases.set(path, c);
      const ref = await get(appPort, path, 20);
      const via = await get(port, path, 20);
      cases.delete(path);
      // The next client, on its own connection: it must get its own answer, whatever came before.
      const nextPath = `/next${c.seed}`;
      const next = await get(port, nextPath);
      if (next.status !== 200 || next.body !== `marker ${nextPath}`) {
        return { outcome: 'fail', reason: `the next client got ${JSON.stringify(next)} instead of its own answer` };
      }
      if (via.body.includes('smuggled') && !ref.body.includes('smuggled')) return { outcome: 'fail', reason: 'a smuggled response reached the client' };
      if (via.error?.startsWith('HPE_')) {
        // The sidecar relays only what it has framed: a parse error at the client means it relayed bytes llhttp cannot frame.
        return { outcome: 'fail', reason: `the client's parser failed (${via.error}) on bytes relayed by the sidecar` };
      }
      if (via.error !== undefined || via.refusal) return ref.error === undefined ? { outcome: 'refused' } : { outcome: 'same' };
      if (ref.error !== undefined && ref.status === 0) {
        // llhttp refused the response itself, yet a response reached the client through the sidecar.
        return { outcome: 'fail', reason: `llhttp refused (${ref.error}) but the client got ${via.status} ${JSON.stringify(via.body)} through the sidecar` };
      }
      // llhttp read a response head and then choked on later bytes (node drops the body read in the same
      // packet): the sidecar relays what is well-framed and drops the rest, so only the status compares.
      if (ref.error !== undefined) return via.status === ref.status ? { outcome: 'same' } : { outcome: 'fail', reason: `llhttp read ${ref.status} (then ${ref.error}), through the sidecar ${via.status}` };
      if (via.status !== ref.status || via.body !== ref.body) {
        return { outcome: 'fail', reason: `llhttp read ${ref.status} ${JSON.stringify(ref.body)}, through the sidecar ${via.status} ${JSON.stringify(via.body)}` };
      }
      return { outcome: 'same' };
    },
    async close() {
      await sidecar.close(0);
      for (const s of sockets) s.destroy();
      app.close();
    },
  };
}

function tally(): Tally {
  return { cases: 0, same: 0, refused: 0, tunnelled: 0, validRefused: 0, failures: [] };
}

/** Runs `cases` request cases from `seed` on, then as many response cases. */
export async function fuzz(seed: number, cases: number, onFailure?: (kind: string, f: Tally['failures'][number]) => void): Promise<{ requests: Tally; responses: Tally }> {
  const requests = tally();
  const responses = tally();
  const rig = await requestRig();
  try {
    for (let s = seed; s < seed + cases; s++) {
      const c = requestCase(s);
      const v = await rig.run(c);
      count(requests, c, v, (f) => onFailure?.('request', f));
    }
  } finally {
    await rig.close();
  }
  const rrig = await responseRig();
  try {
    let s = seed;
    const worker = async () => {
      while (s < seed + cases) {
        const c = responseCase(s++);
        const v = await rrig.run(c);
        count(responses, c, v, (f) => onFailure?.('response', f));
      }
    };
    await Promise.all(Array.from({ length: RESPONSE_CONCURRENCY }, worker));
  } finally {
    await rrig.close();
  }
  return { requests, responses };
}

function count(t: Tally, c: { seed: number; bytes: string; mutations: number }, v: Verdict, onFailure: (f: Tally['failures'][number]) => void): void {
  t.cases++;
  if (v.outcome === 'same') t.same++;
  else if (v.outcome === 'tunnelled') t.tunnelled++;
  else if (v.outcome === 'refused') {
    t.refused++;
    if (c.mutations === 0) {
      t.validRefused++;
      onFailure({ seed: c.seed, bytes: c.bytes, reason: 'valid stream refused by the sidecar' });
    }
  } else {
    const f = { seed: c.seed, bytes: c.bytes, reason: v.reason ?? '' };
    t.failures.push(f);
    onFailure(f);
  }
}
