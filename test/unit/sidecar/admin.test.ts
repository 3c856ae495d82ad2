// The admin port: activity, readiness (ready, wait-ready), drain, metrics.
import { once } from 'node:events';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivitySnapshot } from '../../../core/sidecar-contract.ts';
import type { DrainResult } from '../../../sidecar/drain.ts';
import { startHttpApp, type HttpApp } from '../../fixtures/http-app.ts';
import { freePort, HOST, rawExchange, sidecarFor, until, type TestSidecar } from './helpers.ts';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: HOST, port, path, headers, agent: false }, async (res) => {
      let body = '';
      for await (const c of res) body += c;
      resolve({ status: res.statusCode!, body });
    })
      .on('error', reject)
      .end();
  });
}

describe('activity', () => {
  let app: HttpApp;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    app = await startHttpApp({ name: 'activity' });
    sidecar = await sidecarFor([app.port]);
    await sidecar.readiness.waitReady(5000);
  });
  afterAll(async () => {
    await sidecar.close();
    await app.close();
  });

  const snapshot = async (): Promise<ActivitySnapshot> => (await sidecar.admin('/lull/activity')).json() as Promise<ActivitySnapshot>;

  it('starts with nothing', async () => {
    const s = await snapshot();
    expect(s).toMatchObject({ lastActivityAt: 0, inFlight: 0, requestsTotal: 0, connectionsTotal: 0, ready: true, draining: false });
    expect(s.now).toBeGreaterThanOrEqual(s.startedAt);
  });

  it('stamps a long request on arrival and counts it in flight the whole time', async () => {
    const sentAt = Date.now();
    const slow = get(sidecar.port, '/slow?ms=400');
    await new Promise<void>((resolve) => {
      const check = async () => ((await snapshot()).requestsInFlight === 1 ? resolve() : setTimeout(check, 5));
      void check();
    });
    const during = await snapshot();
    expect(during.inFlight).toBe(1);
    expect(during.lastActivityAt).toBeGreaterThanOrEqual(sentAt);
    expect(during.lastActivityAt).toBeLessThan(sentAt + 200);
    // Still in flight near the end of the request.
    await new Promise((r) => setTimeout(r, 250));
    expect((await snapshot()).requestsInFlight).toBe(1);
    const { status } = await slow;
    expect(status).toBe(200);
    const after = await snapshot();
    expect(after.inFlight).toBe(0);
    expect(after.requestsTotal).toBe(1);
    // Completion does not move the timestamp: it was taken on arrival.
    expect(after.lastActivityAt).toBe(during.lastActivityAt);
  });

  it('does not count kubelet probes', async () => {
    const before = await snapshot();
    const { status } = await get(sidecar.port, '/', { 'User-Agent': 'kube-probe/1.31' });
    expect(status).toBe(200);
    const after = await snapshot();
    expect(after.requestsTotal).toBe(before.requestsTotal);
    expect(after.lastActivityAt).toBe(before.lastActivityAt);
  });

  it('exposes Prometheus metrics', async () => {
    await get(sidecar.port, '/status/503');
    const res = await sidecar.admin('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/lull_sidecar_requests_total\{status_class="2xx"\} [1-9]/);
    expect(text).toMatch(/lull_sidecar_requests_total\{status_class="5xx"\} 1/);
    expect(text).toMatch(/lull_sidecar_request_duration_seconds_count [1-9]/);
    expect(text).toContain('lull_sidecar_requests_in_flight 0');
    expect(text).toMatch(/lull_sidecar_received_bytes_total [1-9]/);
    expect(text).toMatch(/lull_sidecar_sent_bytes_total [1-9]/);
    expect(text).toContain('lull_sidecar_app_ready 1');
  });

  it('serves healthz, refuses other methods and unknown paths, and never answers on the app port', async () => {
    expect((await sidecar.admin('/healthz')).status).toBe(200);
    expect((await sidecar.admin('/lull/activity', { method: 'POST' })).status).toBe(405);
    expect((await sidecar.admin('/nope')).status).toBe(404);
    const { body } = await get(sidecar.port, '/lull/activity');
    expect(body).toBe('not found\n'); // The app's own 404: admin paths are not served on fronted ports.
  });
});

describe('readiness', () => {
  it('turns ready, and releases wait-ready, as soon as a slow-starting app listens', async () => {
    const port = await freePort();
    const sidecar = await sidecarFor([port]);
    let app: HttpApp | undefined;
    try {
      expect((await sidecar.admin('/lull/ready')).status).toBe(503);
      const waiting = sidecar.admin('/lull/wait-ready?timeout=10s');
      const appStarted = startHttpApp({ port, delayMs: 300 });
      const res = await waiting;
      const readyAt = Date.now();
      app = await appStarted;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ready: true });
      // Released within a few probe intervals of the app listening.
      expect(readyAt - app.listeningAt).toBeLessThan(100);
      expect((await sidecar.admin('/lull/ready')).status).toBe(200);
      expect((await sidecar.admin('/lull/wait-ready')).status).toBe(200);
    } finally {
      await sidecar.close();
      await app?.close();
    }
  });

  it('times out wait-ready with 503 and rejects a bad timeout', async () => {
    const sidecar = await sidecarFor([await freePort()]);
    try {
      const res = await sidecar.admin('/lull/wait-ready?timeout=50ms');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ready: false });
      expect((await sidecar.admin('/lull/wait-ready?timeout=soon')).status).toBe(400);
    } finally {
      await sidecar.close();
    }
  });

  it("uses the app container's own readiness probe when there is one", async () => {
    const app = await startHttpApp({ name: 'probe', readyAfterMs: 400 });
    const sidecar = await sidecarFor([app.port], {
      readiness: { kind: 'http', scheme: 'http', host: HOST, port: app.port, path: '/ready', headers: [], timeoutMs: 1000 },
    });
    try {
      // Listening is not enough: the app's probe says not yet.
      expect((await sidecar.admin('/lull/wait-ready?timeout=100ms')).status).toBe(503);
      expect((await sidecar.admin('/lull/wait-ready?timeout=5s')).status).toBe(200);
      expect(Date.now()).toBeGreaterThanOrEqual(app.listeningAt + 400);
    } finally {
      await sidecar.close();
      await app.close();
    }
  });
});

async function draining(sidecar: TestSidecar): Promise<boolean> {
  return ((await (await sidecar.admin('/lull/activity')).json()) as ActivitySnapshot).draining;
}

describe('drain', () => {
  it('waits for a quiet period after the last of a trickle of requests', async () => {
    const app = await startHttpApp({ name: 'drain' });
    const sidecar = await sidecarFor([app.port], { drainQuietMs: 300, drainMaxMs: 10_000 });
    try {
      const started = Date.now();
      const drained = sidecar.admin('/lull/drain').then(async (r) => ({ at: Date.now(), body: (await r.json()) as { drained: boolean; waitedMs: number } }));
      const draining = async () => ((await (await sidecar.admin('/lull/activity')).json()) as ActivitySnapshot).draining;
      await until(draining);
      // A request every 100 ms for 600 ms: each one pushes the end of the drain out.
      let last = 0;
      for (let i = 0; i < 6; i++) {
        const { status, body } = await rawExchange(sidecar.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n').then((out) => ({ status: out.slice(9, 12), body: out }));
        expect(status).toBe('200');
        // While draining, responses ask the client to reconnect elsewhere.
        expect(body).toMatch(/\r\nConnection: close\r\n/i);
        last = Date.now();
        await new Promise((r) => setTimeout(r, 100));
      }
      const { at, body } = await drained;
      expect(body.drained).toBe(true);
      expect(at - last).toBeGreaterThanOrEqual(290);
      expect(at - started).toBeGreaterThanOrEqual(800);
      expect(await draining()).toBe(true);
    } finally {
      await sidecar.close();
      await app.close();
    }
  });

  it('waits for a request in flight', async () => {
    const app = await startHttpApp({ name: 'drain-wait' });
    const sidecar = await sidecarFor([app.port]);
    try {
      const slow = get(sidecar.port, '/slow?ms=300');
      await until(() => sidecar.activity.requestsInFlight === 1);
      const waited = (await (await sidecar.admin('/lull/drain?quiet=50ms&max=5s')).json()) as DrainResult;
      expect(waited.drained).toBe(true);
      expect((await slow).status).toBe(200);
      expect(waited.waitedMs).toBeGreaterThanOrEqual(200);
    } finally {
      await sidecar.close();
      await app.close();
    }
  });

  it('gives up at the maximum', async () => {
    const app = await startHttpApp({ name: 'drain-max' });
    const sidecar = await sidecarFor([app.port]);
    try {
      const endless = get(sidecar.port, '/slow?ms=700');
      await until(() => sidecar.activity.requestsInFlight === 1);
      const cut = (await (await sidecar.admin('/lull/drain?quiet=50ms&max=200ms')).json()) as DrainResult;
      expect(cut.drained).toBe(false);
      expect(cut.waitedMs).toBeGreaterThanOrEqual(195);
      expect(cut.waitedMs).toBeLessThan(1000);
      await endless;
    } finally {
      await sidecar.close();
      await app.close();
    }
  });

  it('is joined, not extended, by a second call, and answered again once over', async () => {
    const app = await startHttpApp({ name: 'drain-join' });
    const sidecar = await sidecarFor([app.port]);
    try {
      const started = Date.now();
      const first = sidecar.admin('/lull/drain?quiet=300ms').then(async (r) => ({ at: Date.now(), body: (await r.json()) as DrainResult }));
      await until(() => draining(sidecar));
      // Asks for a far longer quiet period: it joins the drain under way instead.
      const second = sidecar.admin('/lull/drain?quiet=20s').then(async (r) => ({ at: Date.now(), body: (await r.json()) as DrainResult }));
      const [a, b] = await Promise.all([first, second]);
      expect(b.body).toEqual(a.body);
      expect(b.at - started).toBeLessThan(2000);
      const again = Date.now();
      const third = (await (await sidecar.admin('/lull/drain?quiet=20s')).json()) as DrainResult;
      expect(third).toEqual(a.body);
      expect(Date.now() - again).toBeLessThan(500);
    } finally {
      await sidecar.close();
      await app.close();
    }
  });

  it('refuses a max above LULL_DRAIN_MAX and a quiet above the max, without starting', async () => {
    const sidecar = await sidecarFor([await freePort()], { drainMaxMs: 30_000 });
    try {
      const limit = (name: string, value: string, most: string) => `query parameter ${name} has value "${value}": a duration such as 2s or 500ms, at most ${most}`;
      const refused: Record<string, string> = {
        'max=1h': limit('max', '1h', '30s (LULL_DRAIN_MAX)'),
        'max=31s': limit('max', '31s', '30s (LULL_DRAIN_MAX)'),
        'max=soon': limit('max', 'soon', '30s (LULL_DRAIN_MAX)'),
        'quiet=1m': limit('quiet', '1m', "30s (the drain's max)"),
        'quiet=2s&max=1s': limit('quiet', '2s', "1s (the drain's max)"),
      };
      for (const [query, message] of Object.entries(refused)) {
        const res = await sidecar.admin(`/lull/drain?${query}`);
        expect(res.status, query).toBe(400);
        expect(await res.json()).toEqual({ code: 'LULL_ADMIN_PARAMETER', message });
      }
      expect(await draining(sidecar)).toBe(false);
    } finally {
      await sidecar.close();
    }
  });

  it('closes idle keep-alive connections once drained', async () => {
    const app = await startHttpApp({ name: 'drain-idle' });
    const sidecar = await sidecarFor([app.port]);
    try {
      const { connect } = await import('node:net');
      const socket = connect({ host: HOST, port: sidecar.port });
      socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      await once(socket, 'data');
      const ended = once(socket, 'end');
      await (await sidecar.admin('/lull/drain?quiet=20ms')).json();
      await ended;
      socket.destroy();
    } finally {
      await sidecar.close();
      await app.close();
    }
  });
});

/** A GET from a chosen local address: 127.0.0.2 plays the node, 127.0.0.1 another pod (loopback is not the pod here). */
function getFrom(localAddress: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: HOST, port, path, headers, localAddress, agent: false }, async (res) => {
      let body = '';
      for await (const c of res) body += c;
      resolve({ status: res.statusCode!, body });
    })
      .on('error', reject)
      .end();
  });
}

const NODE = '127.0.0.2';
const OTHER_POD = '127.0.0.1';
const TOKEN = 'k3Qx9-drain-token-of-this-deployment';
// Every sidecar below treats loopback as a remote client, so 127.0.0.x can play the node and other pods.
const remote = { loopbackIsLocal: false };

describe('who may drain', () => {
  const refusedBody = (body: string) => JSON.parse(body) as { code: string; message: string };

  it('with a token: only a request carrying it, whatever its address', async () => {
    const sidecar = await sidecarFor([await freePort()], { nodeAddresses: [NODE], drainToken: TOKEN, drainQuietMs: 10 }, remote);
    try {
      for (const [from, headers] of [[OTHER_POD, {}], [OTHER_POD, { 'X-Lull-Drain-Token': `${TOKEN}x` }], [NODE, {}], [NODE, { 'X-Lull-Drain-Token': TOKEN.slice(1) }]] as const) {
        const res = await getFrom(from, sidecar.adminPort, '/lull/drain?quiet=1ms&max=1ms', headers);
        expect(res.status).toBe(403);
        expect(refusedBody(res.body)).toEqual({ code: 'LULL_DRAIN_FORBIDDEN', message: "a drain is started only by the pod's own preStop hook: header X-Lull-Drain-Token is missing or wrong" });
      }
      // Nothing was started: responses still keep connections alive.
      expect(await draining(sidecar)).toBe(false);
      const ok = await getFrom(OTHER_POD, sidecar.adminPort, '/lull/drain', { 'X-Lull-Drain-Token': TOKEN });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ drained: true });
    } finally {
      await sidecar.close();
    }
  });

  it('without a token (an older injection): only the node', async () => {
    const sidecar = await sidecarFor([await freePort()], { nodeAddresses: [NODE], drainQuietMs: 10 }, remote);
    try {
      const res = await getFrom(OTHER_POD, sidecar.adminPort, '/lull/drain?quiet=1ms&max=1ms');
      expect(res.status).toBe(403);
      expect(refusedBody(res.body).code).toBe('LULL_DRAIN_FORBIDDEN');
      expect(refusedBody(res.body).message).toContain(`not ${OTHER_POD}`);
      expect(await draining(sidecar)).toBe(false);
      expect((await getFrom(NODE, sidecar.adminPort, '/lull/drain')).status).toBe(200);
    } finally {
      await sidecar.close();
    }
  });

  it("from the pod's own containers (loopback), with or without a token", async () => {
    const sidecar = await sidecarFor([await freePort()], { drainToken: TOKEN, drainQuietMs: 10 });
    try {
      expect((await sidecar.admin('/lull/drain')).status).toBe(200);
    } finally {
      await sidecar.close();
    }
  });

  it('leaves the reads open to anyone', async () => {
    const sidecar = await sidecarFor([await freePort()], { nodeAddresses: [NODE], drainToken: TOKEN }, remote);
    try {
      for (const path of ['/lull/activity', '/healthz', '/metrics']) expect((await getFrom(OTHER_POD, sidecar.adminPort, path)).status, path).toBe(200);
      expect((await getFrom(OTHER_POD, sidecar.adminPort, '/lull/ready')).status).toBe(503);
    } finally {
      await sidecar.close();
    }
  });
});

describe('kubelet probes, told by address', () => {
  let app: HttpApp;
  let sidecar: TestSidecar;
  beforeAll(async () => {
    app = await startHttpApp({ name: 'probes' });
    sidecar = await sidecarFor([app.port], { nodeAddresses: [NODE], drainQuietMs: 50, drainMaxMs: 5000 }, remote);
    await sidecar.readiness.waitReady(5000);
  });
  afterAll(async () => {
    await sidecar.close();
    await app.close();
  });
  const snapshot = async (): Promise<ActivitySnapshot> => (await sidecar.admin('/lull/activity')).json() as Promise<ActivitySnapshot>;
  const KUBE_PROBE = { 'User-Agent': 'kube-probe/1.36' };

  it('are not activity when they come from the node', async () => {
    const before = await snapshot();
    expect((await getFrom(NODE, sidecar.port, '/', KUBE_PROBE)).status).toBe(200);
    const after = await snapshot();
    expect(after.requestsTotal).toBe(before.requestsTotal);
    expect(after.lastActivityAt).toBe(before.lastActivityAt);
  });

  it('are ordinary requests when another pod sends the User-Agent: counted, and waited for by a drain', async () => {
    const before = await snapshot();
    const sentAt = Date.now();
    const forged = getFrom(OTHER_POD, sidecar.port, '/slow?ms=400', KUBE_PROBE);
    await until(() => sidecar.activity.requestsInFlight === 1);
    const during = await snapshot();
    expect(during.requestsTotal).toBe(before.requestsTotal + 1);
    expect(during.lastActivityAt).toBeGreaterThanOrEqual(sentAt);
    const drained = JSON.parse((await getFrom(NODE, sidecar.adminPort, '/lull/drain?quiet=10ms')).body) as DrainResult;
    expect((await forged).status).toBe(200);
    expect(drained.drained).toBe(true);
    expect(drained.waitedMs).toBeGreaterThanOrEqual(300);
  });
});

describe('long polls', () => {
  it('refuses a wait-ready timeout above 5m, naming the limit', async () => {
    const sidecar = await sidecarFor([await freePort()]);
    try {
      const res = await sidecar.admin('/lull/wait-ready?timeout=1h');
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        code: 'LULL_ADMIN_PARAMETER',
        message: 'query parameter timeout has value "1h": a duration such as 2s or 500ms, at most 5m (ask again for a longer wait)',
      });
      expect((await sidecar.admin('/lull/wait-ready?timeout=5m1s')).status).toBe(400);
    } finally {
      await sidecar.close();
    }
  });

  it('holds at most maxLongPolls at once: 503 with Retry-After above, room again once one ends', async () => {
    const sidecar = await sidecarFor([await freePort()], {}, { maxLongPolls: 2 });
    const held = [new AbortController(), new AbortController()];
    try {
      const waits = held.map((abort) => sidecar.admin('/lull/wait-ready?timeout=10s', { signal: abort.signal }).catch(() => undefined));
      await until(async () => {
        const res = await sidecar.admin('/lull/wait-ready?timeout=10s');
        if (res.status !== 503) throw new Error(`expected the third poll refused, got ${res.status}`);
        const body = (await res.json()) as { code?: string };
        if (body.code !== 'LULL_ADMIN_BUSY') return false; // The two are not both held yet.
        expect(res.headers.get('retry-after')).toBe('1');
        return true;
      });
      held[0]!.abort();
      await waits[0];
      await until(async () => {
        const res = await sidecar.admin('/lull/wait-ready?timeout=10ms');
        return ((await res.json()) as { code?: string }).code === undefined;
      });
    } finally {
      for (const abort of held) abort.abort();
      await sidecar.close();
    }
  });

  it('answers a ready app at once, whatever the number of polls held', async () => {
    const app = await startHttpApp({ name: 'polls-ready' });
    const sidecar = await sidecarFor([app.port], {}, { maxLongPolls: 0 });
    try {
      await sidecar.readiness.waitReady(5000);
      expect((await sidecar.admin('/lull/wait-ready?timeout=5m')).status).toBe(200);
    } finally {
      await sidecar.close();
      await app.close();
    }
  });
});
