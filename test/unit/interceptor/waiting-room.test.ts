// The waiting page in the whole interceptor, in-process, against a fake cluster and a real sidecar in
// front of the fixture app: a browser gets the page at once and the wake starts; the page's poll is
// answered when the app is ready; an API client to the same app is held and gets the app's answer.
import { afterEach, describe, expect, it } from 'vitest';
import { INTERCEPTOR_PORT_RANGE } from '../../../core/interceptor-contract.ts';
import type { RunningInterceptor } from '../../../interceptor/interceptor.ts';
import { startSidecar } from '../../../sidecar/sidecar.ts';
import { startHttpApp } from '../../fixtures/http-app.ts';
import { appDeployment, appPod, appRoute, appSlice, bodyOf, exchange, FakeCluster, freePort, HOST, startTestInterceptor, statusOf } from './helpers.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CHROME = 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n';

async function interceptor(cluster: FakeCluster): Promise<RunningInterceptor> {
  const running = await startTestInterceptor(cluster);
  cleanups.push(() => running.shutdown(0, 0));
  await expect.poll(() => running.notReady(), { interval: 5 }).toBeUndefined();
  return running;
}

/** A sleeping app whose scale, once asked for, brings up a pod (sidecar + app) after `gate` resolves. */
function sleepingWorld(port: number, annotations: Record<string, string>, gate: Promise<void> = Promise.resolve()): FakeCluster {
  const cluster = new FakeCluster();
  cluster.routes = [appRoute('ns', 'web', 'web', port)];
  cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/replicas-before-sleep': '1', ...annotations })];
  cluster.slices = [appSlice('ns', 'web', [])];
  cluster.onScaled = async () => {
    await gate;
    const appPort = await freePort();
    const sidecar = await startSidecar(
      { ports: [{ listen: 0, app: appPort }], adminPort: 0, appHost: HOST, readiness: { kind: 'tcp', host: HOST, port: appPort, timeoutMs: 500 }, drainQuietMs: 100, drainMaxMs: 1000 },
      { listenHost: HOST },
    );
    const app = await startHttpApp({ port: appPort, host: HOST, name: 'web' });
    cleanups.push(() => app.close(), () => sidecar.close(0));
    cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
    cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }])];
    cluster.publish();
  };
  return cluster;
}

function request(port: number, path: string, headers: string, method = 'GET') {
  return exchange(port, `${method} ${path} HTTP/1.1\r\nHost: web.example\r\nConnection: close\r\n${headers}\r\n`);
}

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('waiting page, in-process', () => {
  it('gives a browser the page at once and starts the wake; an API client is held and answered by the app', async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const up = gate();
    const cluster = sleepingWorld(port, { 'lull.dev/waiting-page': 'true' }, up.promise);
    await interceptor(cluster);
    const api = request(port, '/', 'Accept: application/json\r\n');
    const page = await request(port, '/', CHROME);
    // The app is not up (its pod waits on the gate): the page came from the interceptor, the wake went out.
    expect(statusOf(page.received)).toBe(503);
    const text = page.received.toString();
    expect(text).toContain('X-Lull-Waiting-Page: 1');
    expect(text).toContain('Cache-Control: no-store');
    expect(bodyOf(page.received)).toContain('<title>web is waking up</title>');
    expect(cluster.scales).toEqual([{ namespace: 'ns', name: 'web', replicas: 1, result: 'scaled' }]);
    // The page's poll waits with the held connections, and is answered (not forwarded) once the app is ready.
    const poll = request(port, '/.lull/wait?t=1', 'Accept: application/json\r\nSec-Fetch-Mode: cors\r\n');
    up.open();
    const polled = await poll;
    expect(statusOf(polled.received)).toBe(200);
    expect(polled.received.toString()).toContain('X-Lull-Wait: ready');
    expect(JSON.parse(bodyOf(polled.received)).state).toBe('ready');
    const held = await api;
    expect(statusOf(held.received)).toBe(200);
    expect(bodyOf(held.received)).toBe('hello from web\n');
    // The reload: the app is ready, so the navigation goes to the app.
    const reload = await request(port, '/', CHROME);
    expect(bodyOf(reload.received)).toBe('hello from web\n');
    expect(cluster.scales).toHaveLength(1);
  });

  it('gives the request bytes read for the decision back to the app, intact (a POST with a body)', async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const cluster = sleepingWorld(port, { 'lull.dev/waiting-page': 'true' });
    await interceptor(cluster);
    const body = 'x'.repeat(100_000);
    const reply = await exchange(port, `POST /echo HTTP/1.1\r\nHost: web\r\nConnection: close\r\nAccept: ${'text/html'}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect(statusOf(reply.received)).toBe(200);
    // The echo comes back chunked: every byte of the body, once.
    expect(bodyOf(reply.received).split('x').length - 1).toBe(body.length);
  });

  it('passes other protocols through untouched (a raw TCP client that speaks first)', async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const cluster = sleepingWorld(port, { 'lull.dev/waiting-page': 'true' });
    await interceptor(cluster);
    // Not HTTP: the app (an HTTP server) answers 400 to the bytes themselves, which proves they reached it.
    const reply = await exchange(port, '\x16\x03\x01\x00\x05hello\r\n\r\n');
    expect(reply.received.toString()).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('holds a browser as before when the app has no waiting page', async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const cluster = sleepingWorld(port, {});
    await interceptor(cluster);
    const reply = await request(port, '/', CHROME);
    expect(statusOf(reply.received)).toBe(200);
    expect(bodyOf(reply.received)).toBe('hello from web\n');
  });

  it("serves the app's own template from its ConfigMap, escaped", async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const up = gate();
    const cluster = sleepingWorld(port, { 'lull.dev/waiting-page': 'configmap/waiting' }, up.promise);
    cluster.configMaps.set('ns/waiting', { data: { 'page.html': '<html lang="fr"><title>{{app}} se réveille</title><p>{{namespace}}</p>{{script}}</html>' } });
    await interceptor(cluster);
    const page = await request(port, '/', CHROME);
    up.open();
    expect(statusOf(page.received)).toBe(503);
    expect(bodyOf(page.received)).toMatch(/^<html lang="fr"><title>web se réveille<\/title><p>ns<\/p><script nonce="[A-Za-z0-9+/=]+">/);
    expect(cluster.events.map((e) => e.reason)).toEqual(['Waking']);
  });

  it('falls back to the built-in page when the ConfigMap is missing, and records why once', async () => {
    const port = await freePort(INTERCEPTOR_PORT_RANGE);
    const up = gate();
    const cluster = sleepingWorld(port, { 'lull.dev/waiting-page': 'configmap/gone' }, up.promise);
    await interceptor(cluster);
    const first = await request(port, '/', CHROME);
    const second = await request(port, '/', CHROME);
    up.open();
    for (const page of [first, second]) expect(bodyOf(page.received)).toContain('<title>web is waking up</title>');
    await expect.poll(() => cluster.events.filter((e) => e.reason === 'WaitingPageUnavailable').map((e) => [e.type, e.message])).toEqual([
      ['Warning', 'the waiting page in ConfigMap ns/gone cannot be used: it does not exist; browsers get the built-in page'],
    ]);
  });
});

