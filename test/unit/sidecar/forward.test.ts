// Layer 7 through the sidecar: keep-alive, streaming, uploads, 100-continue, trailers, upgrades,
// forwarded headers, pipelining, and the 502 path.
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHttpApp, type HttpApp } from '../../fixtures/http-app.ts';
import { freePort, HOST, rawExchange, sidecarFor, tcpServer, type TestSidecar } from './helpers.ts';

let app: HttpApp;
let sidecar: TestSidecar;
const appConnections = new Set<unknown>();

beforeAll(async () => {
  app = await startHttpApp({ name: 'fwd' });
  app.server.on('connection', (s) => appConnections.add(s));
  sidecar = await sidecarFor([app.port]);
  await sidecar.readiness.waitReady(5000);
});

afterAll(async () => {
  await sidecar.close();
  await app.close();
});

function get(path: string, agent?: Agent, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: sidecar.port, path, agent, headers }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      resolve({ res, body: Buffer.concat(chunks).toString() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP/1.1 forwarding', () => {
  it('reuses one keep-alive connection on both sides across many requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const clientSockets = new Set<unknown>();
    const before = appConnections.size;
    for (let i = 0; i < 200; i++) {
      const { res, body } = await get(`/info?i=${i}`, agent);
      clientSockets.add(res.socket);
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(body).url).toBe(`/info?i=${i}`);
    }
    agent.destroy();
    expect(clientSockets.size).toBe(1);
    // The first connection is opened at accept; reuse keeps the app's count from growing per request.
    expect(appConnections.size - before).toBeLessThanOrEqual(2);
  });

  it('appends X-Forwarded-For and sets -Proto and -Host', async () => {
    const { body } = await get('/info', undefined, { 'X-Forwarded-For': '203.0.113.9', Host: 'shop.example' });
    const info = JSON.parse(body);
    expect(info.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(info.headers['x-forwarded-proto']).toBe('http');
    expect(info.headers['x-forwarded-host']).toBe('shop.example');
    expect(info.headers.host).toBe('shop.example');
  });

  it('streams a response as the app produces it', async () => {
    const started = Date.now();
    const arrivals: number[] = [];
    await new Promise<void>((resolve, reject) => {
      request({ host: HOST, port: sidecar.port, path: '/stream?chunks=4&ms=40' }, (res) => {
        res.on('data', () => arrivals.push(Date.now() - started));
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    // Chunks arrive spread over time, not all at once at the end.
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThanOrEqual(80);
  });

  it('streams a chunked upload and its echo both ways, trailers included', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => `part-${i};`);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: HOST, port: sidecar.port, method: 'POST', path: '/echo', headers: { Trailer: 'x-sum', 'Content-Type': 'text/plain' } }, resolve);
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i < parts.length) {
          req.write(parts[i++]);
          setImmediate(next);
        } else {
          req.addTrailers({ 'x-sum': String(parts.length) });
          req.end();
        }
      };
      next();
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(Buffer.concat(chunks).toString()).toBe(parts.join(''));
    expect(res.trailers).toEqual({ 'x-sum': '50' });
  });

  it('relays response trailers', async () => {
    const res = await new Promise<IncomingMessage>((resolve) => request({ host: HOST, port: sidecar.port, path: '/trailers' }, resolve).end());
    res.resume();
    await once(res, 'end');
    expect(res.trailers).toEqual({ 'x-checksum': 'abc123' });
  });

  it('carries a large upload with back-pressure', async () => {
    const size = 32 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 0x62);
    const body = Readable.from((function* () {
      for (let sent = 0; sent < size; sent += block.length) yield block;
    })());
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: HOST, port: sidecar.port, method: 'POST', path: '/echo', headers: { 'Content-Length': String(size) } }, resolve);
      req.on('error', reject);
      body.pipe(req);
    });
    let received = 0;
    for await (const c of res) received += (c as Buffer).length;
    expect(received).toBe(size);
  });

  it('lets the app answer Expect: 100-continue', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request({ host: HOST, port: sidecar.port, method: 'POST', path: '/echo', headers: { Expect: '100-continue', 'Content-Length': '5' } }, async (res) => {
        let text = '';
        for await (const c of res) text += c;
        resolve(text);
      });
      req.on('error', reject);
      req.on('continue', () => req.end('hello'));
    });
    expect(reply).toBe('hello');
  });

  it('answers pipelined requests in order', async () => {
    const out = await rawExchange(
      sidecar.port,
      'GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /bytes?n=10 HTTP/1.1\r\nHost: a\r\n\r\nGET /bytes?n=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(statuses).toEqual(['201', '200', '200']);
    expect(out.endsWith('\r\n\r\naaa')).toBe(true);
  });

  it('passes a WebSocket through and keeps it in flight while open', async () => {
    const ws = new WebSocket(`ws://${HOST}:${sidecar.port}/ws`);
    await once(ws, 'open');
    expect(sidecar.activity.requestsInFlight).toBe(1);
    const echoes: string[] = [];
    for (const text of ['one', 'two', 'x'.repeat(100_000)]) {
      ws.send(text);
      const [data] = await once(ws, 'message');
      echoes.push(String(data));
    }
    expect(echoes[0]).toBe('one');
    expect(echoes[2]).toHaveLength(100_000);
    const before = sidecar.activity.lastActivityAt;
    await new Promise((r) => setTimeout(r, 5)); // Let the clock move so new bytes give a new timestamp.
    ws.send('later');
    await once(ws, 'message');
    expect(sidecar.activity.lastActivityAt).toBeGreaterThan(before);
    ws.close();
    await once(ws, 'close');
    await new Promise((r) => setImmediate(r));
    expect(sidecar.activity.requestsInFlight).toBe(0);
  });

  it('keeps the connection HTTP when the app declines an upgrade', async () => {
    // A scripted app: declines the upgrade with a keep-alive 404, then serves the next request.
    let seen = '';
    const scripted = await tcpServer((socket) =>
      socket.on('data', (d) => {
        seen += d.toString('latin1');
        if (seen.includes('GET /second')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        else if (seen.includes('\r\n\r\n')) socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }),
    );
    const front = await sidecarFor([scripted.port]);
    try {
      const out = await rawExchange(
        front.port,
        'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n',
      );
      expect([...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1])).toEqual(['404', '200']);
      expect(out.endsWith('ok')).toBe(true);
    } finally {
      await front.close();
      await scripted.close();
    }
  });

  it('refuses malformed requests with a one-line reason', async () => {
    const out = await rawExchange(sidecar.port, 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(out).toContain('\r\n\r\nLULL_MALFORMED_REQUEST: the request is not valid HTTP/1.1: both Transfer-Encoding and Content-Length are present\n');
  });
});

describe('when the app is not listening', () => {
  it('answers HTTP with 502 and a one-line reason, and closes other protocols', async () => {
    const port = await freePort();
    const down = await sidecarFor([port]);
    try {
      const out = await rawExchange(down.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(out).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(out.split('\r\n\r\n')[1]).toBe(`LULL_APP_NOT_READY: the app is not accepting connections on port ${port}\n`);

      const socket = connect({ host: HOST, port: down.port });
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
      socket.resume();
      await once(socket, 'close');
    } finally {
      await down.close();
    }
  });
});
