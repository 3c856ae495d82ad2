// The interceptor end to end on the local cluster: interceptor pods (deploy/base/interceptor), with the
// webhook, the sidecars and the reconciler. Apps sleep after 1s; requests to their ClusterIPs wake them.
import { once } from 'node:events';
import { connect as http2Connect } from 'node:http2';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStack, until, type Stack } from './support/stack.ts';
import { REPO_ROOT } from '../cluster/layout.ts';

const skip = inject('clusterSkipReason');
const FIXTURE = resolve(REPO_ROOT, 'test/fixtures/http-app.ts');

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request on a fresh connection (so kube-proxy balances each anew); rejects on a connection error. */
function call(url: string, options: { method?: string; timeoutMs?: number; body?: AsyncIterable<Buffer> } = {}): Promise<Reply> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const req = request(url, { method: options.method ?? 'GET', agent: false, timeout: options.timeoutMs ?? 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: Date.now() - started }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', fail);
    if (options.body) {
      void (async () => {
        for await (const chunk of options.body!) req.write(chunk);
        req.end();
      })();
    } else req.end();
  });
}

function fixtureApp(name: string, annotations: Record<string, string> = {}, args: string[] = []) {
  return app(name, annotations, ['node', FIXTURE, '--port', '8080', '--name', name, ...args]);
}

function scriptApp(name: string, script: string, annotations: Record<string, string> = {}) {
  return app(name, annotations, ['node', '-e', script]);
}

function app(name: string, annotations: Record<string, string>, command: string[]) {
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image: 'node:24', command, ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    },
    service: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  };
}

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

describe.skipIf(skip !== null)('the interceptor on the local cluster', () => {
  let stack: Stack;
  let ns: string;

  /** Asleep for real: at zero, routed to the interceptors, no pod left over. Resolves the ClusterIP. */
  const asleep = (name: string, timeoutMs = 120_000) =>
    until(`${name} to sleep`, async () => {
      const d = await stack.getJson(['get', 'deploy', name, '-n', ns]);
      if (d.spec.replicas !== 0 || d.metadata.annotations?.['lull.dev/state'] !== 'sleeping') return false;
      if ((await stack.getJson(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.length > 0) return false;
      const slices = (await stack.getJson(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`])).items as any[];
      const lull = slices.find((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'reconciler.lull.dev');
      if (!lull?.endpoints?.some((e: any) => e.conditions?.ready !== false)) return false;
      return (await stack.getJson(['get', 'svc', name, '-n', ns])).spec.clusterIP as string;
    }, timeoutMs, 100);

  const events = async (name: string, reason: string) =>
    ((await stack.getJson(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as any[]);

  beforeAll(async () => {
    stack = await startStack({ scope: 'interceptor', kubeconfig: inject('kubeconfig'), kubectl: inject('kubectl') });
    ns = await stack.namespace('lull-e2e-icpt');
    // All at once: they onboard and fall asleep side by side.
    for (const { deployment, service } of Object.values(APPS)) {
      await stack.apply({ ...deployment, metadata: { ...deployment.metadata, namespace: ns } });
      await stack.apply({ ...service, metadata: { ...service.metadata, namespace: ns } });
    }
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
    const failed = await until('a WakeFailed Event', async () => (await events('broken', 'WakeFailed')).find((e) => e.reportingComponent === 'lull.dev/interceptor'), 10_000);
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
    await until('connections held on both replicas', async () => {
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
