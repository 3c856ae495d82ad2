// Regression tests of issue 10 (request smuggling and hardening) and of the cases the differential
// fuzz found. The app here is a raw TCP server that records every byte it receives, the way a Go
// net/http app would see them: what must never reach it, never does.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HOST, rawExchange, sidecarFor, tcpServer, until, type TestSidecar } from './helpers.ts';

/** A raw app: answers each request head with "ok <path>" (bodies are not read: the tests send none it needs). */
interface RawApp {
  port: number;
  /** Everything received, all connections. */
  received(): string;
  /** App connections open now. */
  open(): number;
  /** Every app connection: what it received, and whether it is closed. */
  connections: { received: string; closed: boolean }[];
  /** What the app writes for the next request, instead of the plain answer. */
  nextAnswer: string | null;
  close(): Promise<void>;
}

async function rawApp(): Promise<RawApp> {
  let received = '';
  let open = 0;
  const app: Partial<RawApp> = { nextAnswer: null, connections: [] };
  const server = await tcpServer((socket) => {
    open++;
    const conn = { received: '', closed: false };
    app.connections!.push(conn);
    socket.on('close', () => {
      open--;
      conn.closed = true;
    });
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      conn.received += chunk.toString('latin1');
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
        const path = buffered.slice(0, buffered.indexOf('\r\n')).split(' ')[1] ?? '';
        buffered = buffered.slice(end + 4);
        const answer = app.nextAnswer ?? `HTTP/1.1 200 OK\r\nContent-Length: ${3 + path.length}\r\n\r\nok ${path}`;
        app.nextAnswer = null;
        socket.write(answer, 'latin1');
        if (answer.includes('Connection: close\r\n')) socket.end();
      }
    });
    socket.on('end', () => socket.end());
  });
  return Object.assign(app, { port: server.port, received: () => received, open: () => open, close: server.close }) as RawApp;
}

let app: RawApp;
let sidecar: TestSidecar;

beforeAll(async () => {
  app = await rawApp();
  sidecar = await sidecarFor([app.port]);
});

afterAll(async () => {
  await sidecar.close(0);
  await app.close();
});

beforeEach(() => {
  app.nextAnswer = null;
});

/** GET on a fresh connection: the whole answer as text. */
function get(path: string): Promise<string> {
  return rawExchange(sidecar.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
}

async function refused(bytes: string, code = 'LULL_MALFORMED_REQUEST', status = '400 Bad Request'): Promise<string> {
  const tunnels = sidecar.activity.connectionsTotal;
  const out = await rawExchange(sidecar.port, Buffer.from(bytes, 'latin1'));
  expect(out, JSON.stringify(bytes)).toMatch(new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`));
  expect(out).toContain(`X-Lull-Refusal: ${code}\r\n`);
  expect(out).toContain('Connection: close\r\n');
  expect(out.split('\r\n\r\n')[1]).toMatch(new RegExp(`^${code}: .+\\n$`));
  // Refused, not tunnelled to the app at layer 4.
  expect(sidecar.activity.connectionsTotal).toBe(tunnels);
  await until(() => sidecar.activity.requestsInFlight === 0);
  return out;
}

describe('request smuggling (issue 10)', () => {
  it('refuses a bare-LF trailer line and never lets the bytes behind it reach the app as a request', async () => {
    const before = app.received().length;
    await refused('POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\n\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(app.received().slice(before)).not.toContain('/smuggled');
    // The app connection that carried the cut request is closed, not pooled for the next client.
    // (The sidecar refuses before its corked writes leave, so the app may not even see the head.)
    const carriers = app.connections.filter((c) => c.received.includes('POST /a HTTP/1.1'));
    await until(() => carriers.every((c) => c.closed));
    expect(await get('/victim')).toContain('ok /victim');
    expect(app.received()).not.toContain('/smuggled');
  });

  it('refuses Transfer-Encoding on HTTP/1.0 (RFC 9112 §6.1) before anything reaches the app', async () => {
    const before = app.received().length;
    await refused('POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(app.received().length).toBe(before);
  });

  it.each(['-1', ' 3', '3 ', '0x3', '1234567890abc', '3\n', ''])('answers a malformed chunk line %j with 400, closes the app connection and ends the request', async (size) => {
    const open = app.open();
    await refused(`POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nabc\r\n0\r\n\r\n`);
    // No app socket left in CLOSE-WAIT, nothing left in flight: the app can sleep.
    await until(() => app.open() <= open);
    expect(sidecar.activity.requestsInFlight).toBe(0);
  });

  it.each([
    ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
    ['VT in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x0bb\r\n\r\n'],
    ['chunked followed by VT', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x0b\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['a Content-Length after NBSP', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \xa03\r\n\r\nabc'],
    ['bare-LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['a bare-LF header line', 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n'],
    ['a bare CR', 'GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n'],
    ['NUL in the request line', 'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a method glued to a control byte', 'GET\x01 / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['garbage before " HTTP/1.1"', 'G ET /x HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['an unknown HTTP version', 'GET / HTTP/1.2\r\nHost: x\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n'],
  ])('refuses %s instead of forwarding or tunnelling it', async (_name, bytes) => {
    const before = app.received().length;
    await refused(bytes);
    expect(app.received().length).toBe(before);
  });

  it.each([
    ['a Content-Length trailer', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 3\r\n\r\n'],
    ['a repeated Content-Length', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc'],
    ['a Content-Length list', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc'],
    ['chunked twice', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'],
    ['an empty Transfer-Encoding beside chunked', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['HTAB around chunked', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n'],
    ['a target that is no path', 'POST r0/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'],
    ['a space in a chunk extension', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3; a=b\r\nabc\r\n0\r\n\r\n'],
  ])('refuses %s, as llhttp does (found by the fuzz)', async (_name, bytes) => {
    await refused(bytes);
  });

  it('still forwards what llhttp accepts: extensions, trailers, leading empty lines, pipelining', async () => {
    const before = sidecar.activity.requestsTotal;
    const out = await rawExchange(
      sidecar.port,
      '\r\nPOST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n3;a=b;c="d e"\r\nabc\r\n00\r\nX-T: 1\r\n\r\n' +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length:\t3 \r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).not.toContain('X-Lull-Refusal');
    expect(sidecar.activity.requestsTotal - before).toBe(3);
    expect(app.received()).toContain('POST /b HTTP/1.1\r\n');
    expect(app.received()).toContain('GET /c HTTP/1.1\r\n');
  });
});

describe('the activity ledger', () => {
  it('ends every request in flight when the app closes after one answer and a refusal follows (found by the fuzz)', async () => {
    app.nextAnswer = 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited';
    const out = await rawExchange(sidecar.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nX: 1\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\nConnection: close\r\n\r\nclose-delimitedHTTP\/1\.1 400 Bad Request\r\n/);
    await until(() => sidecar.activity.requestsInFlight === 0);
  });
});

describe('responses are framed before they reach a client', () => {
  it('drops bytes the app sends past the end of a response, and gives the next client its own answer', async () => {
    app.nextAnswer = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled';
    const first = await get('/first');
    expect(first).toMatch(/\r\n\r\nhi$/);
    expect(await get('/second')).toContain('ok /second');
  });

  it('answers 502 with a code when the app sends a response llhttp would refuse, and does not reuse that connection', async () => {
    for (const answer of [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'HTTP/1.1 200 OK\nContent-Length: 2\n\nhi',
      'HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
      'HTTP/1.1 101 Switching Protocols\r\n\r\nsmuggled',
      'HTTP/1.1 000 OK\r\n\r\nHTTP/1.1 304 OK\r\n\r\n', // found by the fuzz (seed 114045)
    ]) {
      app.nextAnswer = answer;
      const out = await get('/bad');
      expect(out, JSON.stringify(answer)).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(out).toContain('LULL_APP_MALFORMED_RESPONSE: the app on port');
      expect(out).not.toContain('smuggled');
      expect(await get('/after')).toContain('ok /after');
    }
  });

  it('cuts the client off when the app breaks chunked framing mid-body', async () => {
    app.nextAnswer = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\nzz\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled';
    const socket = connect({ host: HOST, port: sidecar.port });
    socket.write('GET /cut HTTP/1.1\r\nHost: x\r\n\r\n');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    await once(socket, 'close');
    const out = Buffer.concat(chunks).toString('latin1');
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).not.toContain('zz');
    expect(out).not.toContain('smuggled');
  });
});

describe('timeouts and the connection cap', () => {
  let limited: TestSidecar;

  beforeAll(async () => {
    limited = await sidecarFor([app.port], { limits: { headTimeoutMs: 300, idleTimeoutMs: 400, maxConnections: 3 } });
  });

  afterAll(async () => {
    await limited.close(0);
  });

  function open(): Socket {
    const s = connect({ host: HOST, port: limited.port });
    s.on('error', () => {});
    return s;
  }

  async function answerOf(socket: Socket): Promise<string> {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    return Buffer.concat(chunks).toString('latin1');
  }

  it('answers 408 to a request head that does not complete in time', async () => {
    const started = Date.now();
    const s = open();
    s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const out = await answerOf(s);
    expect(out).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(out).toContain('LULL_HEAD_TIMEOUT: the request head did not arrive within 300 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('closes a connection whose first line never completes (sniff timeout)', async () => {
    const s = open();
    s.write('GET');
    expect(await answerOf(s)).toBe('');
    const t = open();
    t.write('GET / HT');
    expect(await answerOf(t)).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection', async () => {
    const s = open();
    s.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    const out = await answerOf(s);
    expect(out).toContain('ok /idle');
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('refuses connections past the cap: 503 with a code for HTTP, a close for other protocols', async () => {
    const held = [open(), open(), open()];
    for (const s of held) s.write('GET /held HTTP/1.1\r\nHost: x\r\n');
    await until(() => limited.activity.requestsInFlight >= 0 && held.every((s) => s.readyState === 'open'));
    await new Promise((r) => setTimeout(r, 50)); // the sidecar has accepted all three
    const http = open();
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const out = await answerOf(http);
    expect(out).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(out).toContain('Connection: close\r\n');
    expect(out).toContain('LULL_SIDECAR_FULL: the sidecar already has 3 client connections open');
    const tls = open();
    tls.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
    expect(await answerOf(tls)).toBe('');
    for (const s of held) s.destroy();
    const metrics = await (await limited.admin('/metrics')).text();
    expect(metrics).toMatch(/lull_sidecar_refusals_total\{code="LULL_SIDECAR_FULL"\} 2/);
    expect(metrics).toMatch(/lull_sidecar_refusals_total\{code="LULL_HEAD_TIMEOUT"\} [1-9]/);
  });
});
