// The data-plane pieces on real sockets: refusing, forwarding, listeners, and the wait-ready client.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { errors, lullError } from '../../../core/errors.ts';
import { forward } from '../../../interceptor/forward.ts';
import { Listeners } from '../../../interceptor/listeners.ts';
import { waitReady } from '../../../core/sidecar-admin-client.ts';
import { ReadyProbe } from '../../../interceptor/readiness.ts';
import { refusalOf, refuse } from '../../../interceptor/refuse.ts';
import { createAdminServer } from '../../../sidecar/admin.ts';
import { Readiness } from '../../../sidecar/readiness.ts';
import { Registry } from 'prom-client';
import { bodyOf, echoServer, exchange, get, HOST, listening, pausedServer, statusOf } from './helpers.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('refuse', () => {
  const refusal = refusalOf(lullError(errors.tooManyHeld, 'ns/web', 3));

  it('answers an HTTP/1.1 client 503 with Retry-After and the reason, then closes', async () => {
    const server = await pausedServer();
    cleanups.push(server.close);
    const reply = get(server.port, '/upload', 'Content-Length: 5\r\n');
    await refuse(await server.next(), refusal);
    const { received } = await reply;
    expect(statusOf(received)).toBe(503);
    expect(received.toString()).toContain('Retry-After: 1\r\n');
    expect(bodyOf(received)).toBe('LULL_MAX_HELD: ns/web already has 3 connections held while it wakes (lull.dev/max-held)\n');
  });

  it('closes anything that is not HTTP/1.x without a word', async () => {
    const server = await pausedServer();
    cleanups.push(server.close);
    const reply = exchange(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await refuse(await server.next(), refusal);
    expect((await reply).received.length).toBe(0);
  });

  it('closes a client that says nothing, after the first-bytes wait', async () => {
    const server = await pausedServer();
    cleanups.push(server.close);
    const reply = exchange(server.port, '');
    const started = Date.now();
    await refuse(await server.next(), refusal, { firstBytesMs: 50, lingerMs: 50 });
    expect((await reply).received.length).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('forward', () => {
  it('carries bytes both ways, including a half-close, once the target accepts', async () => {
    const echo = await echoServer();
    const server = await pausedServer();
    cleanups.push(echo.close, server.close);
    const payload = Buffer.alloc(256 * 1024, 7);
    const reply = exchange(server.port, payload, { end: true });
    const client = await server.next();
    await new Promise<void>((resolve, reject) => forward(client, { address: HOST, port: echo.port }, { connected: resolve, failed: reject }));
    const { received } = await reply;
    expect(received.equals(payload)).toBe(true);
  });

  it('leaves the client unread when the target refuses, so it can go elsewhere intact', async () => {
    const echo = await echoServer();
    const server = await pausedServer();
    const dead = createServer();
    const deadPort = await listening(dead);
    await new Promise((r) => dead.close(r));
    cleanups.push(echo.close, server.close);
    const reply = exchange(server.port, 'first bytes, never lost', { end: true });
    const client = await server.next();
    const err = await new Promise<Error>((resolve, reject) => forward(client, { address: HOST, port: deadPort }, { connected: () => reject(new Error('connected?')), failed: resolve }));
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await new Promise<void>((resolve, reject) => forward(client, { address: HOST, port: echo.port }, { connected: resolve, failed: reject }));
    expect((await reply).received.toString()).toBe('first bytes, never lost');
  });
});

describe('Listeners', () => {
  it('opens and closes ports to match the table, and hands over sockets with the port they came on', async () => {
    const seen: number[] = [];
    const listeners = new Listeners((socket, port) => {
      seen.push(port);
      socket.destroy();
    }, HOST);
    cleanups.push(() => listeners.close());
    expect((await listeners.sync([])).opened).toEqual([]);
    const free = await freePorts(2);
    let result = await listeners.sync(free);
    expect(result.opened.sort()).toEqual([...free].sort());
    await exchange(free[0]!, 'x');
    expect(seen).toEqual([free[0]]);

    result = await listeners.sync([free[1]!]);
    expect(result.closed).toEqual([free[0]]);
    expect((await exchange(free[0]!, 'x')).error).toBe('ECONNREFUSED');
    expect(listeners.ports).toEqual([free[1]]);
  });

  it('reports a port it cannot bind and tries it again on the next sync', async () => {
    const taken = createServer();
    const port = await listening(taken);
    const listeners = new Listeners((s) => s.destroy(), HOST);
    cleanups.push(() => listeners.close());
    const result = await listeners.sync([port]);
    expect(result.failed).toEqual([{ port, error: expect.stringContaining('EADDRINUSE') }]);
    await new Promise((r) => taken.close(r));
    expect((await listeners.sync([port])).opened).toEqual([port]);
  });
});

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => {
    const s = createServer();
    return { s, port: await listening(s) };
  }));
  await Promise.all(servers.map(({ s }) => new Promise((r) => s.close(r))));
  return servers.map((x) => x.port);
}

/** A stand-in sidecar: the real sidecar admin server, with readiness the test flips. */
async function standInSidecar(port = 0, maxLongPolls?: number) {
  const readiness = new Readiness();
  const admin = createAdminServer({ snapshot: () => ({}) as never, readiness, drain: async () => ({}) as never, registry: new Registry(), ...(maxLongPolls !== undefined ? { maxLongPolls } : {}) });
  admin.listen(port, HOST);
  await once(admin, 'listening');
  const adminPort = (admin.address() as { port: number }).port;
  return {
    readiness,
    adminPort,
    close: () => {
      admin.closeAllConnections();
      return new Promise((r) => admin.close(r));
    },
  };
}

describe('wait-ready', () => {
  it('answers the moment the sidecar sees the app ready', async () => {
    const sidecar = await standInSidecar();
    cleanups.push(sidecar.close);
    const waiting = waitReady(HOST, sidecar.adminPort, 10_000);
    setTimeout(() => sidecar.readiness.set(true), 20);
    const started = Date.now();
    expect(await waiting).toBe('ready');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('says not-ready at its timeout, and no-sidecar where there is none', async () => {
    const sidecar = await standInSidecar();
    cleanups.push(sidecar.close);
    expect(await waitReady(HOST, sidecar.adminPort, 20)).toBe('not-ready');
    const { createServer: http } = await import('node:http');
    const plain = http((_req, res) => res.writeHead(404).end());
    const plainPort = await listening(plain as never);
    cleanups.push(() => new Promise((r) => plain.close(r)));
    expect(await waitReady(HOST, plainPort, 20)).toBe('no-sidecar');
  });

  it('asks for an hour-long hold in chunks the sidecar accepts', async () => {
    const sidecar = await standInSidecar();
    cleanups.push(sidecar.close);
    const waiting = waitReady(HOST, sidecar.adminPort, 3_600_000);
    setTimeout(() => sidecar.readiness.set(true), 20);
    expect(await waiting).toBe('ready'); // Not no-sidecar: the sidecar refuses a timeout above 5m with 400.
  });

  it('says busy when the sidecar holds all the long polls it allows, and ReadyProbe still learns readiness', async () => {
    const sidecar = await standInSidecar(0, 0);
    cleanups.push(sidecar.close);
    expect(await waitReady(HOST, sidecar.adminPort, 10_000)).toBe('busy');
    const ready: string[] = [];
    const probe = new ReadyProbe((key) => ready.push(key), { retryMs: 5, slowRetryMs: 20 });
    cleanups.push(() => probe.stop());
    probe.probe('pod-b', { address: HOST, adminPort: () => sidecar.adminPort });
    setTimeout(() => sidecar.readiness.set(true), 50);
    await expect.poll(() => ready, { timeout: 2000, interval: 5 }).toEqual(['pod-b']);
  });

  it('ReadyProbe asks again at once when told of the pod while it waits out a refused connect', async () => {
    const ready: string[] = [];
    // A retry pace far longer than the test: only the nudge can make it ask again in time.
    const probe = new ReadyProbe((key) => ready.push(key), { retryMs: 60_000 });
    cleanups.push(() => probe.stop());
    const [free] = (await freePorts(1)) as [number];
    probe.probe('pod-c', { address: HOST, adminPort: () => free });
    await new Promise((r) => setTimeout(r, 50)); // Refused by now: nothing listens on `free`.
    const sidecar = await standInSidecar(free);
    cleanups.push(sidecar.close);
    sidecar.readiness.set(true);
    probe.probe('pod-c', { address: HOST, adminPort: () => free }); // A watch event about the pod.
    await expect.poll(() => ready, { timeout: 1000, interval: 5 }).toEqual(['pod-c']);
  });

  it('ReadyProbe keeps asking until the sidecar answers, then reports the pod ready once', async () => {
    // First a port that accepts and hangs up (a sidecar not serving yet), then the sidecar on it.
    let attempts = 0;
    const early = createServer((s) => {
      attempts++;
      s.destroy();
    });
    const port = await listening(early);
    const ready: string[] = [];
    const probe = new ReadyProbe((key) => ready.push(key), { retryMs: 5 });
    cleanups.push(() => probe.stop());
    probe.probe('pod-a', { address: HOST, adminPort: () => port });
    probe.probe('pod-a', { address: HOST, adminPort: () => port }); // Asked once, however often told.
    await expect.poll(() => attempts, { timeout: 2000, interval: 5 }).toBeGreaterThanOrEqual(3);
    await new Promise((r) => early.close(r));
    const sidecar = await standInSidecar(port);
    cleanups.push(sidecar.close);
    sidecar.readiness.set(true);
    await expect.poll(() => ready, { timeout: 2000, interval: 5 }).toEqual(['pod-a']);
    expect(probe.isReady('pod-a')).toBe(true);
    probe.forget('pod-a');
    expect(probe.isReady('pod-a')).toBe(false);
  });
});
