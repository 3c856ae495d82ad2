// Awake-hours at the interceptor: the whole interceptor in-process against a fake cluster; outside the
// window, outside-hours: refuse answers 503 with Retry-After and never wakes, the default wakes as always.
import { afterEach, describe, expect, it } from 'vitest';
import { INTERCEPTOR_PORT_RANGE } from '../../../core/interceptor-contract.ts';
import { HoursGate, outsideHoursRefusal } from '../../../interceptor/hours.ts';
import { appDeployment, appRoute, appSlice, bodyOf, exchange, FakeCluster, freePort, get, startTestInterceptor, statusOf } from './helpers.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
/** A daily UTC window that opens two hours from now (whole minutes) and lasts one: closed now. */
function closedWindow(now = Date.now()): { hours: string; opensAt: number } {
  const opensAt = Math.ceil(now / 60_000) * 60_000 + 2 * 3_600_000;
  return { hours: `Mon-Sun ${hhmm(opensAt)}-${hhmm(opensAt + 3_600_000)} UTC`, opensAt };
}

async function sleepingApp(annotations: Record<string, string>) {
  const port = await freePort(INTERCEPTOR_PORT_RANGE);
  const cluster = new FakeCluster();
  cluster.routes = [appRoute('ns', 'web', 'web', port)];
  cluster.deployments = [appDeployment('ns', 'web', 0, { 'lull.dev/replicas-before-sleep': '1', ...annotations })];
  cluster.slices = [appSlice('ns', 'web', [])];
  const running = await startTestInterceptor(cluster, { maxHeld: 100, maxConnecting: 8 });
  cleanups.push(() => running.shutdown(0, 0));
  await expect.poll(() => running.ports(), { interval: 5 }).toEqual([port]);
  return { port, cluster };
}

describe('outside awake-hours at the interceptor', () => {
  it('refuses with 503, Retry-After in seconds to the opening and a body saying when it opens; no wake', async () => {
    const { hours, opensAt } = closedWindow();
    const { port, cluster } = await sleepingApp({ 'lull.dev/awake-hours': hours, 'lull.dev/outside-hours': 'refuse' });
    const sentAt = Date.now();
    const { received } = await get(port);
    const response = received.toString('latin1');
    expect(statusOf(received)).toBe(503);
    const retryAfter = Number(/\r\nRetry-After: (\d+)\r\n/.exec(response)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.floor((opensAt - Date.now()) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((opensAt - sentAt) / 1000));
    expect(bodyOf(received)).toBe(
      `LULL_OUTSIDE_HOURS: ns/web is asleep outside its awake-hours (${hours}) and refuses requests until it opens at ` +
        `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(opensAt).getUTCDay()]} ${new Date(opensAt).toISOString().slice(0, 10)} ${hhmm(opensAt)} UTC (${new Date(opensAt).toISOString().replace('.000Z', 'Z')}) (lull.dev/outside-hours: refuse)\n`,
    );
    expect(cluster.scales).toEqual([]);
  });

  it('closes other protocols cleanly, without an HTTP answer and without a wake', async () => {
    const { hours } = closedWindow();
    const { port, cluster } = await sleepingApp({ 'lull.dev/awake-hours': hours, 'lull.dev/outside-hours': 'refuse' });
    const { received, error } = await exchange(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    expect(received.length).toBe(0);
    expect(error).toBeUndefined();
    expect(cluster.scales).toEqual([]);
  });

  it('with a waiting page, gives a browser the page saying when the app opens and an API client the 503; no wake', async () => {
    const { hours, opensAt } = closedWindow();
    const { port, cluster } = await sleepingApp({ 'lull.dev/awake-hours': hours, 'lull.dev/outside-hours': 'refuse', 'lull.dev/waiting-page': 'true' });
    const page = (await get(port, '/', 'Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n')).received;
    expect(statusOf(page)).toBe(503);
    expect(page.toString('latin1')).toMatch(/\r\nContent-Type: text\/html/i);
    expect(bodyOf(page)).toContain(`It opens at ${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(opensAt).getUTCDay()]} ${new Date(opensAt).toISOString().slice(0, 10)} ${hhmm(opensAt)} UTC`);
    const api = (await get(port, '/', 'Accept: application/json\r\n')).received;
    expect(bodyOf(api)).toMatch(/^LULL_OUTSIDE_HOURS: /);
    expect(cluster.scales).toEqual([]);
  });

  it('wakes by default (outside-hours: wake) as at any other time', async () => {
    const { hours } = closedWindow();
    // No pod comes up here: the hold timeout answers, so the connection ends.
    const { port, cluster } = await sleepingApp({ 'lull.dev/awake-hours': hours, 'lull.dev/hold-timeout': '1s' });
    const { received } = await get(port);
    expect(cluster.scales).toEqual([{ namespace: 'ns', name: 'web', replicas: 1, result: 'scaled' }]);
    expect(bodyOf(received)).toMatch(/^LULL_HOLD_TIMEOUT: /);
  });
});

describe('outsideHoursRefusal and HoursGate', () => {
  const refuse = { 'lull.dev/awake-hours': 'Mon-Fri 08:00-19:00 Europe/Paris', 'lull.dev/outside-hours': 'refuse' };
  it('refuses only outside the window with refuse, and says until when the answer holds', () => {
    const saturday = Date.parse('2026-12-05T12:00:00Z');
    const answer = outsideHoursRefusal('ns/web', refuse, saturday);
    expect(answer.opensAt).toBe(Date.parse('2026-12-07T07:00:00Z'));
    expect(answer.refusal).toMatchObject({ code: 'LULL_OUTSIDE_HOURS', status: 503, retryAfterS: 43 * 3600 });
    expect(outsideHoursRefusal('ns/web', refuse, Date.parse('2026-12-07T08:00:00Z'))).toEqual({ until: Date.parse('2026-12-07T18:00:00Z') });
    expect(outsideHoursRefusal('ns/web', { 'lull.dev/awake-hours': refuse['lull.dev/awake-hours'] }, saturday)).toEqual({ until: Infinity });
  });
  it('keeps its answer until the opening, counting Retry-After down, and follows annotation changes', () => {
    const gate = new HoursGate();
    const saturday = Date.parse('2026-12-05T12:00:00Z');
    expect(gate.refusal('ns/web', refuse, saturday)?.retryAfterS).toBe(43 * 3600);
    expect(gate.refusal('ns/web', refuse, saturday + 3_600_000)?.retryAfterS).toBe(42 * 3600);
    expect(gate.refusal('ns/web', refuse, Date.parse('2026-12-07T07:00:00Z'))).toBeUndefined();
    expect(gate.refusal('ns/web', { ...refuse, 'lull.dev/outside-hours': 'wake' }, saturday)).toBeUndefined();
  });
});
