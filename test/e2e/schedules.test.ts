// Awake-hours end to end on the local cluster: interceptor pods, webhook, sidecars and reconciler. No fake
// clock: windows are whole minutes of real UTC time, computed from now (a window that closes 40-100 s
// after it is set, one that opens two hours from now, one that opens inside wake-at-start's 3m lead).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asleepBehindInterceptor } from './support/asleep.ts';
import { applyApps, appService, fixtureApp } from './support/fixture-apps.ts';
import { request } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

const MINUTE = 60_000;

const call = (url: string, timeoutMs = 120_000) => request(url, { timeoutMs });

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
/** Every day, in UTC, from `from` to `to` (whole minutes; a window across midnight is fine). */
const daily = (from: number, to: number) => `Mon-Sun ${hhmm(from)}-${hhmm(to)} UTC`;
const nextMinute = (t: number) => Math.ceil(t / MINUTE) * MINUTE;

/** Closed now, opens in two hours: the window the outside-hours apps live in. */
const LATER = nextMinute(Date.now()) + 2 * 60 * MINUTE;
const CLOSED_NOW = daily(LATER, LATER + 60 * MINUTE);

// idle-after is long: whatever sleeps here sleeps for its schedule.
const app = (name: string, annotations: Record<string, string>) => ({
  deployment: fixtureApp(name, { annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '30m', ...annotations } }),
  service: appService(name),
});

const APPS = {
  trickle: app('trickle', {}),
  refuser: app('refuser', { 'lull.dev/awake-hours': CLOSED_NOW, 'lull.dev/outside-hours': 'refuse' }),
  waker: app('waker', { 'lull.dev/awake-hours': CLOSED_NOW }),
  early: app('early', { 'lull.dev/awake-hours': CLOSED_NOW, 'lull.dev/wake-at-start': 'true' }),
};

onCluster('awake-hours on the local cluster', () => {
  let stack: Stack;
  let ns: string;

  const deployment = (name: string) => stack.kubectl.json(['get', 'deploy', name, '-n', ns]);
  const clusterIp = async (name: string) => (await stack.kubectl.json(['get', 'svc', name, '-n', ns])).spec.clusterIP as string;
  /** Asleep for real: at zero, routed to the interceptors, no pod left over. Resolves the Deployment. */
  const asleep = async (name: string, timeoutMs = 180_000) => {
    await asleepBehindInterceptor(stack.kubectl, ns, name, timeoutMs, 200);
    return deployment(name);
  };
  const events = async (name: string, reason: string) =>
    ((await stack.kubectl.json(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as any[]);

  beforeAll(async () => {
    stack = await startStack({ scope: 'schedules', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-hours');
    await applyApps(stack.kubectl, ns, Object.values(APPS));
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
    await waitFor('a Woke Event', async () => (await events('waker', 'Woke')).length > 0, 60_000, 200);
    await asleep('waker', 60_000);
    expect((await events('waker', 'Slept')).every((e) => e.action === 'schedule')).toBe(true);
  }, 240_000);

  it('sleeps at the end of the window under a trickle of requests, not after idle-after', async () => {
    await waitFor('trickle to be awake and reached through its sidecar', async () => {
      const d = await deployment('trickle');
      const svc = await stack.kubectl.json(['get', 'svc', 'trickle', '-n', ns]);
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
      await waitFor('trickle to sleep at the close', async () => (await deployment('trickle')).spec.replicas === 0, closesAt - Date.now() + 60_000, 200);
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
    await waitFor('a minute since early slept', () => Date.now() - sleptAt > 65_000, 120_000, 500);
    const opensAt = nextMinute(Date.now()) + 2 * MINUTE; // within the reconciler's default 3m lead
    await stack.kubectl(['annotate', '--overwrite', '-n', ns, 'deploy/early', `lull.dev/awake-hours=${daily(opensAt, opensAt + 30 * MINUTE)}`]);
    await waitFor('early to be up', async () => (await deployment('early')).status?.readyReplicas === 1, 120_000, 200);
    expect(Date.now()).toBeLessThan(opensAt);
    const waking = await events('early', 'Waking');
    expect(waking).toHaveLength(1);
    expect(waking[0]).toMatchObject({ action: 'schedule', reportingComponent: 'lull.dev/reconciler', message: expect.stringMatching(/scaled from 0 to 1 3m ahead \(wake-at-start\)$/) });
    await waitFor('a Woke Event', async () => (await events('early', 'Woke')).length > 0, 60_000, 200);
    expect((await events('early', 'Woke'))[0].message).toContain('woken ahead of its awake-hours (wake-at-start)');
    // Inside its early window it stays up.
    expect((await deployment('early')).spec.replicas).toBe(1);
  }, 300_000);
});
