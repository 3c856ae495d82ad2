// Awake-hours end to end on the local cluster: interceptor pods, webhook, sidecars and reconciler. No fake
// clock: windows are whole minutes of real UTC time, computed from now (a window that closes 40-100 s
// after it is set, one that opens two hours from now, one that opens inside wake-at-start's 3m lead).
import { request, type IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../cluster/layout.ts';
import { startStack, until, type Stack } from './support/stack.ts';

const skip = inject('clusterSkipReason');
const FIXTURE = resolve(REPO_ROOT, 'test/fixtures/http-app.ts');
const MINUTE = 60_000;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(url: string, timeoutMs = 120_000): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
/** Every day, in UTC, from `from` to `to` (whole minutes; a window across midnight is fine). */
const daily = (from: number, to: number) => `Mon-Sun ${hhmm(from)}-${hhmm(to)} UTC`;
const nextMinute = (t: number) => Math.ceil(t / MINUTE) * MINUTE;

/** Closed now, opens in two hours: the window the outside-hours apps live in. */
const LATER = nextMinute(Date.now()) + 2 * 60 * MINUTE;
const CLOSED_NOW = daily(LATER, LATER + 60 * MINUTE);

function app(name: string, annotations: Record<string, string>) {
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      // idle-after is long: whatever sleeps here sleeps for its schedule.
      metadata: { name, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '30m', ...annotations } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image: 'node:24', command: ['node', FIXTURE, '--port', '8080', '--name', name], ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    },
    service: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  };
}

const APPS = {
  trickle: app('trickle', {}),
  refuser: app('refuser', { 'lull.dev/awake-hours': CLOSED_NOW, 'lull.dev/outside-hours': 'refuse' }),
  waker: app('waker', { 'lull.dev/awake-hours': CLOSED_NOW }),
  early: app('early', { 'lull.dev/awake-hours': CLOSED_NOW, 'lull.dev/wake-at-start': 'true' }),
};

describe.skipIf(skip !== null)('awake-hours on the local cluster', () => {
  let stack: Stack;
  let ns: string;

  const deployment = (name: string) => stack.getJson(['get', 'deploy', name, '-n', ns]);
  const clusterIp = async (name: string) => (await stack.getJson(['get', 'svc', name, '-n', ns])).spec.clusterIP as string;
  /** Asleep for real: at zero, routed to the interceptors, no pod left over. */
  const asleep = (name: string, timeoutMs = 180_000) =>
    until(`${name} to sleep`, async () => {
      const d = await deployment(name);
      if (d.spec.replicas !== 0 || d.metadata.annotations?.['lull.dev/state'] !== 'sleeping') return false;
      if ((await stack.getJson(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.length > 0) return false;
      const slices = (await stack.getJson(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`])).items as any[];
      const lull = slices.find((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'reconciler.lull.dev');
      return lull?.endpoints?.some((e: any) => e.conditions?.ready !== false) ? d : false;
    }, timeoutMs, 200);
  const events = async (name: string, reason: string) =>
    ((await stack.getJson(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as any[]);

  beforeAll(async () => {
    stack = await startStack({ scope: 'schedules', kubeconfig: inject('kubeconfig'), kubectl: inject('kubectl') });
    ns = await stack.namespace('lull-e2e-hours');
    for (const { deployment: d, service } of Object.values(APPS)) {
      await stack.apply({ ...d, metadata: { ...d.metadata, namespace: ns } });
      await stack.apply({ ...service, metadata: { ...service.metadata, namespace: ns } });
    }
  }, 300_000);

  afterAll(async () => {
    if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack?.stop();
  });

  it('refuses a request outside the window with 503, Retry-After to the opening and when it opens; no wake', async () => {
    await asleep('refuser');
    const slept = await events('refuser', 'Slept');
    expect(slept[0]).toMatchObject({ action: 'schedule', message: expect.stringMatching(/^Outside awake-hours ".*" and nothing in flight: scaled from 1 to 0; it opens .*; requests are refused with 503 until then/) });
    const ip = await clusterIp('refuser');
    const reply = await call(`http://${ip}/`);
    expect(reply.status).toBe(503);
    expect(reply.headers['x-lull-refusal']).toBe('LULL_OUTSIDE_HOURS');
    const retryAfter = Number(reply.headers['retry-after']);
    expect(Math.abs(retryAfter - (LATER - Date.now()) / 1000)).toBeLessThan(10);
    expect(reply.body).toContain(`LULL_OUTSIDE_HOURS: ${ns}/refuser is asleep outside its awake-hours (${CLOSED_NOW}) and refuses requests until it opens at `);
    expect(reply.body).toContain(`(${new Date(LATER).toISOString().replace('.000Z', 'Z')})`);
    // Still asleep: the refusal woke nothing.
    expect((await deployment('refuser')).spec.replicas).toBe(0);
    expect(await events('refuser', 'Waking')).toEqual([]);
  }, 240_000);

  it('wakes for a request outside the window by default, and sleeps again once nothing is in flight', async () => {
    await asleep('waker');
    const ip = await clusterIp('waker');
    const reply = await call(`http://${ip}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello from waker\n');
    // idle-after is 30m: only the schedule puts it back to sleep this soon.
    await until('a Woke Event', async () => (await events('waker', 'Woke')).length > 0, 60_000, 200);
    await asleep('waker', 60_000);
    expect((await events('waker', 'Slept')).every((e) => e.action === 'schedule')).toBe(true);
  }, 240_000);

  it('sleeps at the end of the window under a trickle of requests, not after idle-after', async () => {
    await until('trickle to be awake and reached through its sidecar', async () => {
      const d = await deployment('trickle');
      const svc = await stack.getJson(['get', 'svc', 'trickle', '-n', ns]);
      return d.metadata.annotations?.['lull.dev/state'] === 'awake' && d.status?.readyReplicas === 1 && svc.spec.ports[0].targetPort === 'lull-8080';
    }, 180_000, 200);
    const closesAt = nextMinute(Date.now() + 40_000);
    await stack.kubectl(['annotate', '-n', ns, 'deploy/trickle', `lull.dev/awake-hours=${daily(closesAt - 30 * MINUTE, closesAt)}`]);
    const ip = await clusterIp('trickle');
    const answers: Array<{ at: number; status: number }> = [];
    let stop = false;
    const trickle = (async () => {
      while (!stop) {
        const reply = await call(`http://${ip}/`, 60_000).catch(() => ({ status: 0 }));
        answers.push({ at: Date.now(), status: reply.status });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await until('trickle to sleep at the close', async () => (await deployment('trickle')).spec.replicas === 0, closesAt - Date.now() + 60_000, 200);
    } finally {
      stop = true;
      await trickle;
    }
    // The first sleep (a last request of the trickle may have woken it again since).
    const slept = (await events('trickle', 'Slept')).sort((a, b) => Date.parse(a.firstTimestamp) - Date.parse(b.firstTimestamp));
    expect(slept[0]).toMatchObject({ action: 'schedule', message: expect.stringMatching(/^Outside awake-hours /) });
    // Not before the close (Event times are whole seconds), and soon after it.
    const sleptAt = Date.parse(slept[0].firstTimestamp);
    expect(sleptAt).toBeGreaterThanOrEqual(closesAt - 1000);
    expect(sleptAt - closesAt).toBeLessThan(30_000);
    // The trickle kept it busy up to the close, and every request was answered (held ones by the woken app).
    expect(answers.filter((a) => a.at < closesAt).length).toBeGreaterThan(20);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  }, 300_000);

  it('wakes the app before the window opens with wake-at-start, with no request', async () => {
    const d = await asleep('early');
    // Woken only if it fell asleep before the early window began: let that be over a minute ago.
    const sleptAt = Date.parse(d.metadata.annotations['lull.dev/slept-at']);
    await until('a minute since early slept', () => Date.now() - sleptAt > 65_000, 120_000, 500);
    const opensAt = nextMinute(Date.now()) + 2 * MINUTE; // within the reconciler's default 3m lead
    await stack.kubectl(['annotate', '--overwrite', '-n', ns, 'deploy/early', `lull.dev/awake-hours=${daily(opensAt, opensAt + 30 * MINUTE)}`]);
    await until('early to be up', async () => (await deployment('early')).status?.readyReplicas === 1, 120_000, 200);
    expect(Date.now()).toBeLessThan(opensAt);
    const waking = await events('early', 'Waking');
    expect(waking).toHaveLength(1);
    expect(waking[0]).toMatchObject({ action: 'schedule', reportingComponent: 'lull.dev/reconciler', message: expect.stringMatching(/scaled from 0 to 1 3m ahead \(wake-at-start\)$/) });
    await until('a Woke Event', async () => (await events('early', 'Woke')).length > 0, 60_000, 200);
    expect((await events('early', 'Woke'))[0].message).toContain('woken ahead of its awake-hours (wake-at-start)');
    // Inside its early window it stays up.
    expect((await deployment('early')).spec.replicas).toBe(1);
  }, 300_000);
});
