// The interceptor end to end on the local cluster: interceptor pods (deploy/base/interceptor), with the
// webhook, the sidecars and the reconciler. Apps sleep after 1s; requests to their ClusterIPs wake them.
import { once } from 'node:events';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asleepBehindInterceptor } from './support/asleep.ts';
import { applyApps, fixtureApp as deployment, appService, scriptApp as scriptDeployment } from './support/fixture-apps.ts';
import { request, type RequestOptions } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

/** Every request may wait for a wake. */
const call = (url: string, options: RequestOptions = {}) => request(url, { timeoutMs: 120_000, ...options });

const optedIn = (annotations: Record<string, string>) => ({ annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations } });
const fixtureApp = (name: string, annotations: Record<string, string> = {}, args: string[] = []) => ({ deployment: deployment(name, { ...optedIn(annotations), args }), service: appService(name) });
const scriptApp = (name: string, script: string, annotations: Record<string, string> = {}) => ({ deployment: scriptDeployment(name, script, optedIn(annotations)), service: appService(name) });

const APPS = {
  web: fixtureApp('web'),
  upload: fixtureApp('upload'),
  ws: fixtureApp('ws'),
  h2: scriptApp('h2', "require('http2').createServer((req, res) => res.end('h2c ' + req.url)).listen(8080, '0.0.0.0')"),
  echo: scriptApp('echo', "require('net').createServer((s) => s.pipe(s)).listen(8080, '0.0.0.0')"),
  trickle: fixtureApp('trickle', { 'lull.dev/max-held': '1000' }),
  limited: fixtureApp('limited', { 'lull.dev/max-held': '1' }, ['--delay', '3000']),
  slow: fixtureApp('slow', { 'lull.dev/hold-timeout': '1s' }, ['--delay', '30000']),
  broken: scriptApp('broken', 'process.exit(1)'),
  survivor: fixtureApp('survivor', { 'lull.dev/hold-timeout': '1m' }, ['--delay', '3000']),
};

onCluster('the interceptor on the local cluster', () => {
  let stack: Stack;
  let ns: string;

  const asleep = (name: string) => asleepBehindInterceptor(stack.kubectl, ns, name);

  const events = async (name: string, reason: string) =>
    ((await stack.kubectl.json(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as any[]);

  beforeAll(async () => {
    stack = await startStack({ scope: 'interceptor', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-icpt');
    // All at once: they onboard and fall asleep side by side.
    await applyApps(stack.kubectl, ns, Object.values(APPS));
  }, 300_000);

  afterAll(async () => {
    if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack?.stop();
  });

  it('holds a request to a sleeping app, wakes it, answers 200, and the app sleeps again', async () => {
    const ip = await asleep('web');
    const reply = await call(`http://${ip}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello from web\n');
    const waking = await events('web', 'Waking');
    expect(waking.length).toBeGreaterThanOrEqual(1);
    expect(waking[0].reportingComponent).toBe('lull.dev/interceptor');
    expect(waking[0].message).toMatch(/^Scaled from 0 to 1 for a held connection \(the apiserver took \d+ ms\)$/);
    await asleep('web');
  });

  it('wakes from zero for HTTP/1.1 with a streamed upload, WebSocket, HTTP/2 cleartext and raw TCP', async () => {
    const [uploadIp, wsIp, h2Ip, echoIp] = await Promise.all([asleep('upload'), asleep('ws'), asleep('h2'), asleep('echo')]);
    const sent: Buffer[] = [];
    async function* body() {
      for (let i = 0; i < 16; i++) {
        const chunk = Buffer.alloc(64 * 1024, 97 + i);
        sent.push(chunk);
        yield chunk;
        await new Promise((r) => setTimeout(r, 20)); // A client streaming as it produces, not waiting on anything.
      }
    }
    const upload = call(`http://${uploadIp}/echo`, { method: 'POST', body: body() });

    const ws = (async () => {
      const socket = new WebSocket(`ws://${wsIp}/ws`);
      await once(socket, 'open');
      socket.send('hello over a woken websocket');
      const [data] = await once(socket, 'message');
      socket.close();
      return String(data);
    })();

    const h2 = (async () => {
      const session = http2Connect(`http://${h2Ip}`);
      const stream = session.request({ ':path': '/woken' });
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      const [headers] = await once(stream, 'response');
      await once(stream, 'end');
      session.close();
      return { status: headers[':status'], text };
    })();

    const tcp = new Promise<string>((done, fail) => {
      const socket = connect(80, echoIp, () => socket.end('ping over raw tcp'));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('close', () => done(text));
      socket.on('error', fail);
    });

    const uploaded = await upload;
    expect(uploaded.status).toBe(200);
    expect(uploaded.body).toBe(Buffer.concat(sent).toString());
    expect(await ws).toBe('hello over a woken websocket');
    expect(await h2).toEqual({ status: 200, text: 'h2c /woken' });
    expect(await tcp).toBe('ping over raw tcp');
  });

  it('loses no request: a burst of 200 at zero, then 20 sleep/wake cycles under a trickle', async () => {
    const ip = await asleep('trickle');
    const burst = await Promise.all(Array.from({ length: 200 }, () => call(`http://${ip}/`).catch((err: Error) => ({ status: 0, body: err.message, ms: 0 }))));
    expect(burst.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`)).toEqual([]);

    // Gaps from well under idle-after to several times it: requests land awake, mid-sleep, asleep and mid-wake.
    const wakesBefore = (await events('trickle', 'Waking')).length;
    const failures: string[] = [];
    let sent = 0;
    const inFlight = new Set<Promise<void>>();
    let wakes = 0;
    const deadline = Date.now() + 170_000;
    while (wakes < 20 && Date.now() < deadline) {
      const burstSize = 1 + Math.floor(Math.random() * 3);
      for (let i = 0; i < burstSize; i++) {
        sent++;
        const p = call(`http://${ip}/`).then(
          (r) => {
            if (r.status !== 200 || r.body !== 'hello from trickle\n') failures.push(`${r.status} ${r.body.trim()}`);
          },
          (err: Error) => void failures.push(err.message),
        );
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 3500)); // The trickle's own pace.
      wakes = (await events('trickle', 'Waking')).length - wakesBefore;
    }
    await Promise.all(inFlight);
    expect(failures).toEqual([]);
    expect(wakes).toBeGreaterThanOrEqual(20);
    expect(sent).toBeGreaterThan(20);
  }, 240_000);

  it('answers past max-held, at the hold timeout, and early for an app that cannot start', async () => {
    const [limitedIp, slowIp, brokenIp] = await Promise.all([asleep('limited'), asleep('slow'), asleep('broken')]);

    // max-held=1 on each of the two interceptor replicas: at most two wait, the rest hear why at once.
    const many = await Promise.all(Array.from({ length: 8 }, () => call(`http://${limitedIp}/`)));
    const served = many.filter((r) => r.status === 200);
    const refused = many.filter((r) => r.status === 503);
    expect(served.length + refused.length).toBe(8);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(served.length).toBeLessThanOrEqual(2);
    for (const r of refused) {
      expect(r.body).toMatch(/^LULL_MAX_HELD: lull-e2e-icpt-\w+\/limited already has 1 connections held while it wakes \(lull.dev\/max-held\)\n$/);
      expect(r.headers['retry-after']).toBe('1');
    }

    // hold-timeout=1s, an app that takes 30s to listen.
    const late = await call(`http://${slowIp}/`);
    expect(late.status).toBe(503);
    expect(late.body).toMatch(/^LULL_HOLD_TIMEOUT: lull-e2e-icpt-\w+\/slow did not become ready within 1s/);
    expect(late.headers['retry-after']).toBe('5');
    expect(late.ms).toBeGreaterThanOrEqual(950);
    expect(late.ms).toBeLessThan(5000);

    // An app whose command exits: answered as soon as its pod shows the crash loop, long before the 2m hold timeout.
    const broken = await call(`http://${brokenIp}/`);
    expect(broken.status).toBe(503);
    expect(broken.body).toMatch(/^LULL_WAKE_FAILED: lull-e2e-icpt-\w+\/broken cannot come up: pod broken-[\w-]+, container app: CrashLoopBackOff/);
    expect(broken.ms).toBeLessThan(30_000);
    const failed = await waitFor('a WakeFailed Event', async () => (await events('broken', 'WakeFailed')).find((e) => e.reportingComponent === 'lull.dev/interceptor'), 10_000);
    expect(failed.type).toBe('Warning');
    expect(failed.message).toMatch(/CrashLoopBackOff.*exit code 1/);
  });

  it('serves the connections held by the survivors when one interceptor replica is killed', async () => {
    const ip = await asleep('survivor');
    const pods = await stack.interceptors();
    expect(pods.length).toBeGreaterThanOrEqual(2);
    const metric = async (podIP: string) => {
      const text = (await call(`http://${podIP}:9940/metrics`)).body;
      return Number(/lull_interceptor_connections_total\{outcome="held_forwarded"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const [victim, survivor] = pods as [any, any];
    const forwardedBefore = await metric(survivor.status.podIP);
    // A killed pod's connections may just go silent (its network is torn down): bounded by a client timeout.
    const replies = Array.from({ length: 20 }, () => call(`http://${ip}/`, { timeoutMs: 20_000 }).catch((err: Error) => ({ status: 0, body: err.message, ms: 0 })));
    // Both replicas hold now (the app takes 3s to listen): kill one outright.
    await waitFor('connections held on both replicas', async () => {
      const held = await Promise.all([victim, survivor].map(async (p) => Number(/lull_interceptor_held_connections (\d+)/.exec((await call(`http://${p.status.podIP}:9940/metrics`)).body)?.[1] ?? 0)));
      return held.every((n) => n > 0);
    }, 10_000, 20);
    await stack.kubectl(['delete', 'pod', victim.metadata.name, '-n', 'lull-system', '--grace-period=0', '--force']);
    const results = await Promise.all(replies);
    const ok = results.filter((r) => r.status === 200);
    // Every connection the survivor held was served; those on the killed replica were lost with it.
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBe((await metric(survivor.status.podIP)) - forwardedBefore);
    expect(results.filter((r) => r.status !== 200 && r.status !== 0)).toEqual([]);
    await stack.kubectl(['rollout', 'status', 'deploy/lull-interceptor', '-n', 'lull-system', '--timeout=120s']);
  });
});
