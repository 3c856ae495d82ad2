// The whole interceptor in-process, against a fake cluster the test plays the control plane for,
// with the real sidecar and the fixture app as the woken pod: route → hold → wake → wait-ready → forward.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { INTERCEPTOR_PORT_RANGE } from '../../../core/interceptor-contract.ts';
import { startInterceptor, type RunningInterceptor } from '../../../interceptor/interceptor.ts';
import { startSidecar, type RunningSidecar } from '../../../sidecar/sidecar.ts';
import { startHttpApp, type HttpApp } from '../../fixtures/http-app.ts';
import { appDeployment, appPod, appRoute, appSlice, bodyOf, echoServer, FakeCluster, get, HOST, silentLog, statusOf } from './helpers.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A free port; interceptor ports come from the contract's range (the annotation allows no other). */
async function freePort(host = HOST, range?: { first: number; last: number }): Promise<number> {
  for (;;) {
    const want = range ? range.first + Math.floor(Math.random() * (range.last - range.first)) : 0;
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(want, host, () => resolve(true));
    });
    if (!ok) continue;
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return port;
  }
}

const interceptorPort = () => freePort(HOST, INTERCEPTOR_PORT_RANGE);

async function interceptor(cluster: FakeCluster, host = HOST, appLingerMs = 60_000): Promise<RunningInterceptor> {
  const running = await startInterceptor({
    cluster: cluster.api(),
    log: silentLog,
    host,
    adminPort: 0,
    adminHost: host,
    maxHeldTotal: 10_000,
    maxHeldPerNamespace: 10_000,
    maxConnecting: 64,
    appLingerMs,
    source: { component: 'lull-interceptor', instance: `test-${host}` },
    probe: { retryMs: 2 },
  });
  cleanups.push(() => running.shutdown(0, 0));
  await expect.poll(() => running.notReady(), { interval: 5 }).toBeUndefined();
  return running;
}

/** A pod as the woken app: the real sidecar in front of the fixture app, which starts after `appDelayMs`. */
async function pod(appDelayMs: number): Promise<{ sidecar: RunningSidecar; app: Promise<HttpApp> }> {
  const appPort = await freePort();
  const sidecar = await startSidecar(
    { ports: [{ listen: 0, app: appPort }], adminPort: 0, appHost: HOST, readiness: { kind: 'tcp', host: HOST, port: appPort, timeoutMs: 500 }, drainQuietMs: 100, drainMaxMs: 1000 },
    { listenHost: HOST },
  );
  const app = startHttpApp({ port: appPort, host: HOST, name: 'web', delayMs: appDelayMs });
  cleanups.push(async () => (await app).close(), () => sidecar.close(0));
  return { sidecar, app };
}

function sleepingWorld(port: number): FakeCluster {
  const cluster = new FakeCluster();
  cluster.routes = [appRoute('ns', 'web', 'web', port)];
  cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/replicas-before-sleep': '1' })];
  cluster.slices = [appSlice('ns', 'web', [])];
  return cluster;
}

describe('interceptor, in-process', () => {
  it('opens the port a route record allocates, and closes it when the record goes', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    const running = await interceptor(cluster);
    await running.settled();
    expect(running.ports()).toEqual([port]);
    cluster.routes = [];
    cluster.publish();
    await expect.poll(() => running.ports(), { interval: 5 }).toEqual([]);
  });

  it('holds a request for a sleeping app, wakes it once, and answers 200 the moment the app accepts', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.onScaled = async () => {
      // The control plane: a pod with an address (not ready yet) appears, its sidecar up, its app still starting.
      const { sidecar } = await pod(80);
      cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
      cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }])];
      cluster.publish();
    };
    await interceptor(cluster);
    const replies = await Promise.all(Array.from({ length: 5 }, () => get(port)));
    for (const reply of replies) {
      expect(statusOf(reply.received)).toBe(200);
      expect(bodyOf(reply.received)).toBe('hello from web\n');
    }
    expect(cluster.scales).toEqual([{ namespace: 'ns', name: 'web', replicas: 1, result: 'scaled' }]);
    expect(cluster.marked).toEqual(['ns/web']);
    expect(cluster.events.map((e) => [e.reason, e.type, e.involvedObject.name])).toEqual([['Waking', 'Normal', 'web']]);
    expect(cluster.events[0]!.message).toMatch(/^Scaled from 0 to 1 for a held connection \(the apiserver took \d+ ms\)$/);
  });

  it("scales at first contact from one GET of the Deployment, before the app's watches have listed", async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/replicas-before-sleep': '3' })];
    cluster.onScaled = async () => {
      const { sidecar } = await pod(0);
      cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
      cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }])];
      cluster.publish();
    };
    const running = await interceptor(cluster);
    // A cold interceptor's lists and watches take tens of ms: here they do not answer until released.
    cluster.holdSyncs = true;
    const reply = get(port);
    await expect.poll(() => cluster.scales, { interval: 5 }).toEqual([{ namespace: 'ns', name: 'web', replicas: 3, result: 'scaled' }]);
    expect(cluster.gets).toEqual(['ns/web']);
    expect(running.apps.get('ns/web')!.synced).toBe(false);
    expect(cluster.events.map((e) => [e.reason, e.involvedObject.uid])).toEqual([['Waking', 'uid-web']]);
    cluster.holdSyncs = false;
    cluster.publish();
    const { received } = await reply;
    expect(statusOf(received)).toBe(200);
    expect(cluster.scales).toHaveLength(1);
  });

  it("applies the app's max-held from the fetched Deployment before its watches have listed", async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/max-held': '1', 'lull.dev/hold-timeout': '1s' })];
    await interceptor(cluster);
    cluster.holdSyncs = true;
    const first = get(port);
    await expect.poll(() => cluster.scales.length, { interval: 5 }).toBe(1);
    const { received } = await get(port);
    expect(bodyOf(received)).toBe('LULL_MAX_HELD: ns/web already has 1 connections held while it wakes (lull.dev/max-held)\n');
    cluster.holdSyncs = false;
    cluster.publish();
    expect(bodyOf((await first).received)).toBe('LULL_HOLD_TIMEOUT: ns/web did not become ready within 1s (lull.dev/hold-timeout)\n');
  });

  it('forwards at once to an app that is already awake (its interceptor slice not yet removed)', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    const { sidecar, app } = await pod(0);
    await app;
    await sidecar.readiness.waitReady(2000);
    cluster.deployments = [appDeployment('ns', 'web', 1)];
    cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
    cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: true }])];
    await interceptor(cluster);
    expect(statusOf((await get(port)).received)).toBe(200);
    expect(cluster.scales).toEqual([]);
    expect(cluster.events).toEqual([]);
  });

  it('answers held connections early when the woken app crash-loops, and records WakeFailed once', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.onScaled = () => {
      cluster.pods = [
        appPod('ns', 'web-1', 'web', 9930, {
          phase: 'Running',
          containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2s' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }],
        }),
      ];
      cluster.publish();
    };
    await interceptor(cluster);
    const started = Date.now();
    const replies = await Promise.all([get(port), get(port)]);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const { received } of replies) {
      expect(statusOf(received)).toBe(503);
      expect(bodyOf(received)).toMatch(/^LULL_WAKE_FAILED: ns\/web cannot come up: pod web-1, container app: CrashLoopBackOff/);
    }
    expect(cluster.events.map((e) => e.reason)).toEqual(['Waking', 'WakeFailed']);
    expect(cluster.events[1]!.type).toBe('Warning');
    expect(cluster.events[1]!.message).toMatch(/last exit: exit code 1/);
  });

  it('records WakeFailed at the hold timeout of an app that never gets ready', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/hold-timeout': '1s' })];
    await interceptor(cluster);
    const { received } = await get(port);
    expect(statusOf(received)).toBe(503);
    expect(bodyOf(received)).toBe('LULL_HOLD_TIMEOUT: ns/web did not become ready within 1s (lull.dev/hold-timeout)\n');
    await expect.poll(() => cluster.events.map((e) => e.reason), { interval: 5 }).toEqual(['Waking', 'WakeFailed']);
    expect(cluster.events[1]!.message).toMatch(/^not ready within the hold timeout of 1s/);
  });

  it('answers at once when the scale is forbidden', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.scaleError = 403;
    await interceptor(cluster);
    const { received } = await get(port);
    expect(bodyOf(received)).toMatch(/^LULL_WAKE_FAILED: ns\/web cannot come up: cannot scale it up: forbidden/);
  });

  it('scales once however many interceptor replicas hold connections for the app', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    cluster.onScaled = async () => {
      const { sidecar } = await pod(30);
      cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
      cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }])];
      cluster.publish();
    };
    // Two replicas on two loopback addresses, same port, as on two pods.
    await interceptor(cluster, '127.0.0.1');
    await interceptor(cluster, '127.0.0.2');
    const { exchange } = await import('./helpers.ts');
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const at2 = (await import('node:net')).connect;
    const viaSecond = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = at2({ host: '127.0.0.2', port }, () => s.write(request));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const [first, second] = await Promise.all([exchange(port, request), viaSecond]);
    expect(statusOf(first.received)).toBe(200);
    expect(statusOf(second)).toBe(200);
    expect(cluster.scales.filter((s) => s.result === 'scaled')).toHaveLength(1);
    expect(cluster.events.filter((e) => e.reason === 'Waking')).toHaveLength(1);
  });

  it('keeps serving a held connection when its route goes away meanwhile', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    const running = await interceptor(cluster);
    const reply = get(port);
    await expect.poll(() => running.apps.get('ns/web')?.hold.held, { interval: 5 }).toBe(1);
    cluster.routes = [];
    cluster.publish();
    await expect.poll(() => running.ports(), { interval: 5 }).toEqual([]);
    const { sidecar } = await pod(0);
    cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
    cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }])];
    cluster.publish();
    expect(statusOf((await reply).received)).toBe(200);
  });

  it("forwards to and probes only the woken Deployment's pods, never another address in its Service's slices", async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    const rogue = await echoServer();
    cleanups.push(rogue.close);
    // What a slice may say that no pod backs: a ready endpoint that is not a pod of the app.
    const stranger = { pod: 'not-a-pod-of-web', port: rogue.port, ready: true };
    cluster.onScaled = () => {
      cluster.slices = [appSlice('ns', 'web', [stranger])];
      cluster.publish();
    };
    const running = await interceptor(cluster);
    const reply = get(port);
    await expect.poll(() => cluster.scales.length, { interval: 5 }).toBe(1);
    await expect.poll(() => running.apps.get('ns/web')?.hold.held, { interval: 5 }).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // Long enough for a forward or a probe to have happened.
    expect(rogue.connections).toBe(0);
    const { sidecar } = await pod(0);
    cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
    const own = appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: false }]);
    cluster.slices = [appSlice('ns', 'web', [stranger]), { ...own, metadata: { ...own.metadata, name: 'web-fghij' } }];
    cluster.publish();
    const { received } = await reply;
    expect(statusOf(received)).toBe(200);
    expect(bodyOf(received)).toBe('hello from web\n');
    expect(rogue.connections).toBe(0);
  });

  it('stops watching an app that has gone quiet', async () => {
    const port = await interceptorPort();
    const cluster = sleepingWorld(port);
    const { sidecar, app } = await pod(0);
    await app;
    cluster.deployments = [appDeployment('ns', 'web', 1)];
    cluster.pods = [appPod('ns', 'web-1', 'web', sidecar.adminPort)];
    cluster.slices = [appSlice('ns', 'web', [{ pod: 'web-1', port: sidecar.ports[0]!.listen, ready: true }])];
    const running = await interceptor(cluster, HOST, 50);
    const before = cluster.liveWatches;
    expect(statusOf((await get(port)).received)).toBe(200);
    expect(running.apps.size).toBe(1);
    expect(cluster.liveWatches).toBeGreaterThan(before);
    await expect.poll(() => running.apps.size, { timeout: 3000, interval: 10 }).toBe(0);
    expect(cluster.liveWatches).toBe(before);
  });
});

