// Holding for one app against a view the test controls: forward when ready, spread, limits, answers.
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Target } from '../../../interceptor/forward.ts';
import { Hold, Totals, type AppView, type HoldContext, type Outcome } from '../../../interceptor/hold.ts';
import type { Route } from '../../../interceptor/routes.ts';
import { bodyOf, echoServer, exchange, get, HOST, listening, pausedServer, statusOf } from './helpers.ts';

const route: Route = { port: 20001, namespace: 'ns', service: 'web', deployment: 'web', servicePort: 'http', portName: 'http' };

class View implements AppView {
  name = 'ns/web';
  namespace = 'ns';
  synced = true;
  settingsKnown = true;
  settings = { maxHeld: 100, holdTimeoutMs: 60_000 };
  failure: string | undefined;
  ready: Target[] = [];
  wakes = 0;
  timeouts = 0;
  refused: Target[] = [];
  hold!: Hold;
  targets(): readonly Target[] {
    return this.ready;
  }
  unusable(target: Target): void {
    this.refused.push(target);
    this.ready = this.ready.filter((t) => t.port !== target.port);
  }
  wake(): void {
    this.wakes++;
  }
  timedOut(): void {
    this.timeouts++;
  }
  set(change: Partial<Pick<View, 'ready' | 'failure' | 'settings' | 'synced' | 'settingsKnown'>>): void {
    Object.assign(this, change);
    this.hold.update();
  }
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(maxTotal = 1000, maxPerNamespace = maxTotal) {
  const view = new View();
  const outcomes: Outcome[] = [];
  const ctx: HoldContext = { total: new Totals(), caps: { maxTotal, maxPerNamespace }, maxConnecting: 2, count: (o) => outcomes.push(o), observeHeld: () => {} };
  view.hold = new Hold(view, ctx);
  const server = await pausedServer();
  cleanups.push(server.close);
  /** Connects a client and hands its accepted socket to `to`'s Hold; resolves (wrapped) the client's eventual reply. */
  const arrive = async (send: (port: number) => Promise<{ received: Buffer; error?: string }>, to: View = view) => {
    const reply = send(server.port);
    const socket: Socket = await server.next();
    to.hold.accept(socket, route);
    return { reply };
  };
  /** Another app, in `namespace`, holding on the same interceptor. */
  const other = (namespace: string, name: string) => {
    const v = new View();
    v.namespace = namespace;
    v.name = `${namespace}/${name}`;
    v.hold = new Hold(v, ctx);
    return v;
  };
  return { view, ctx, outcomes, arrive, other };
}

describe('Hold', () => {
  it('holds while no pod is ready, wakes, and forwards everything once one is', async () => {
    const { view, ctx, outcomes, arrive } = await setup();
    const echo = await echoServer();
    cleanups.push(echo.close);
    const replies = (await Promise.all(Array.from({ length: 5 }, (_, i) => arrive((port) => exchange(port, `hello ${i}`, { end: true }))))).map((a) => a.reply);
    expect(view.hold.held).toBe(5);
    expect(ctx.total.held).toBe(5);
    expect(view.wakes).toBeGreaterThan(0);
    view.set({ ready: [{ address: HOST, port: echo.port }] });
    const received = await Promise.all(replies);
    expect(received.map((r) => r.received.toString())).toEqual([0, 1, 2, 3, 4].map((i) => `hello ${i}`));
    expect(view.hold.held).toBe(0);
    expect(outcomes.filter((o) => o === 'held_forwarded')).toHaveLength(5);
    await ctx.total.quiet();
  });

  it('forwards at once when a pod is ready, spread over the ready pods', async () => {
    const { view, outcomes, arrive } = await setup();
    const a = await echoServer();
    const b = await echoServer();
    cleanups.push(a.close, b.close);
    view.ready = [{ address: HOST, port: a.port }, { address: HOST, port: b.port }];
    for (let i = 0; i < 4; i++) await (await arrive((port) => exchange(port, 'x', { end: true }))).reply;
    expect([a.connections, b.connections]).toEqual([2, 2]);
    expect(outcomes).toEqual(['forwarded', 'forwarded', 'forwarded', 'forwarded']);
    expect(view.wakes).toBe(0);
  });

  it('holds until it knows the app, then decides', async () => {
    const { view, arrive } = await setup();
    const echo = await echoServer();
    cleanups.push(echo.close);
    view.synced = false;
    view.ready = [{ address: HOST, port: echo.port }];
    const { reply } = await arrive((port) => exchange(port, 'early', { end: true }));
    await expect.poll(() => view.hold.held).toBe(1);
    expect(view.wakes).toBe(0);
    view.set({ synced: true });
    expect((await reply).received.toString()).toBe('early');
  });

  it('refuses past max-held with 503 and the reason; the held ones still go through', async () => {
    const { view, outcomes, arrive } = await setup();
    const echo = await echoServer();
    cleanups.push(echo.close);
    view.settings = { maxHeld: 2, holdTimeoutMs: 60_000 };
    const held = [(await arrive((p) => exchange(p, 'a', { end: true }))).reply, (await arrive((p) => exchange(p, 'b', { end: true }))).reply];
    const refused = await (await arrive((p) => get(p))).reply;
    expect(statusOf(refused.received)).toBe(503);
    expect(bodyOf(refused.received)).toMatch(/^LULL_MAX_HELD: ns\/web already has 2 connections held/);
    expect(outcomes).toEqual(['refused_max_held']);
    view.set({ ready: [{ address: HOST, port: echo.port }] });
    expect((await Promise.all(held)).map((r) => r.received.toString())).toEqual(['a', 'b']);
  });

  it('answers the newest first when a lower max-held becomes known', async () => {
    const { view, arrive } = await setup();
    view.synced = false;
    const replies = [(await arrive((p) => get(p, '/1'))).reply, (await arrive((p) => get(p, '/2'))).reply, (await arrive((p) => get(p, '/3'))).reply];
    await expect.poll(() => view.hold.held).toBe(3);
    view.set({ synced: true, settings: { maxHeld: 1, holdTimeoutMs: 60_000 } });
    expect(statusOf((await replies[2]!).received)).toBe(503);
    expect(statusOf((await replies[1]!).received)).toBe(503);
    expect(view.hold.held).toBe(1);
    view.hold.stop();
    expect(bodyOf((await replies[0]!).received)).toMatch(/^LULL_INTERCEPTOR_STOPPING/);
  });

  it('answers at the hold timeout: 503 for HTTP, a close for anything else', async () => {
    const { view, outcomes, arrive } = await setup();
    view.settings = { maxHeld: 100, holdTimeoutMs: 100 };
    const started = Date.now();
    const http = (await arrive((p) => get(p))).reply;
    const raw = (await arrive((p) => exchange(p, '\x16\x03\x01 not http'))).reply;
    const [h, r] = await Promise.all([http, raw]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(statusOf(h.received)).toBe(503);
    expect(h.received.toString()).toContain('Retry-After: 5');
    expect(bodyOf(h.received)).toBe('LULL_HOLD_TIMEOUT: ns/web did not become ready within 100ms (lull.dev/hold-timeout)\n');
    expect(r.received.length).toBe(0);
    expect(outcomes).toEqual(['refused_timeout', 'refused_timeout']);
    expect(view.timeouts).toBeGreaterThanOrEqual(1);
  });

  it('answers held connections as soon as the app is known not to come up, and new ones at once', async () => {
    const { view, outcomes, arrive } = await setup();
    const held = (await arrive((p) => get(p))).reply;
    view.set({ failure: 'pod web-1, container app: CrashLoopBackOff' });
    const h = await held;
    expect(statusOf(h.received)).toBe(503);
    expect(bodyOf(h.received)).toBe('LULL_WAKE_FAILED: ns/web cannot come up: pod web-1, container app: CrashLoopBackOff\n');
    expect(h.received.toString()).toContain('Retry-After: 30');
    const next = await (await arrive((p) => get(p))).reply;
    expect(statusOf(next.received)).toBe(503);
    expect(outcomes).toEqual(['refused_wake_failed', 'refused_wake_failed']);
  });

  it('refuses past the interceptor-wide cap, naming it', async () => {
    const { arrive, other } = await setup(1, 1);
    await arrive((p) => get(p));
    const second = await (await arrive((p) => get(p), other('elsewhere', 'api'))).reply;
    expect(statusOf(second.received)).toBe(503);
    expect(bodyOf(second.received)).toBe('LULL_INTERCEPTOR_FULL: this interceptor already holds 1 connections, its limit (--max-held-total)\n');
  });

  it("refuses past a namespace's share, naming it, while another namespace's apps are still held and served", async () => {
    const { view, ctx, outcomes, arrive, other } = await setup(10, 3);
    const hog = other('evil', 'hog');
    const sibling = other('evil', 'sibling');
    const echo = await echoServer();
    cleanups.push(echo.close);
    // The hostile namespace fills its share, over two of its apps (the share is per namespace, not per app).
    for (let i = 0; i < 2; i++) await arrive((p) => exchange(p, 'idle'), hog);
    await arrive((p) => exchange(p, 'idle'), sibling);
    const refused = await Promise.all([arrive((p) => get(p), hog), arrive((p) => get(p), sibling)].map(async (a) => (await (await a).reply).received));
    for (const r of refused) {
      expect(statusOf(r)).toBe(503);
      expect(r.toString()).toContain('Retry-After: 1');
      expect(bodyOf(r)).toBe('LULL_NAMESPACE_FULL: namespace evil already has 3 connections held on this interceptor, its share (--max-held-per-namespace)\n');
    }
    expect(ctx.total.heldIn('evil')).toBe(3);
    // The victim's namespace still has its own share: held, then forwarded when its app is ready.
    const { reply } = await arrive((p) => exchange(p, 'victim request', { end: true }));
    expect(view.hold.held).toBe(1);
    view.set({ ready: [{ address: HOST, port: echo.port }] });
    expect((await reply).received.toString()).toBe('victim request');
    expect(outcomes.filter((o) => o === 'refused_namespace_full')).toHaveLength(2);
    expect(outcomes).toContain('held_forwarded');
  });

  it("applies the app's max-held as soon as its Deployment is seen, before its endpoints are", async () => {
    const { view, outcomes, arrive } = await setup();
    view.synced = false;
    view.settingsKnown = false;
    const replies = (await Promise.all(Array.from({ length: 4 }, () => arrive((p) => get(p))))).map((a) => a.reply);
    expect(view.hold.held).toBe(4);
    view.set({ settingsKnown: true, settings: { maxHeld: 1, holdTimeoutMs: 60_000 } });
    expect(view.hold.held).toBe(1);
    const refused = await Promise.all(replies.slice(1));
    for (const r of refused) expect(bodyOf(r.received)).toBe('LULL_MAX_HELD: ns/web already has 1 connections held while it wakes (lull.dev/max-held)\n');
    const late = await (await arrive((p) => get(p))).reply;
    expect(bodyOf(late.received)).toBe('LULL_MAX_HELD: ns/web already has 1 connections held while it wakes (lull.dev/max-held)\n');
    expect(outcomes).toEqual(['refused_max_held', 'refused_max_held', 'refused_max_held', 'refused_max_held']);
  });

  it("names the app's own max-held first, and frees a namespace's share as its connections go", async () => {
    const { view, ctx, arrive } = await setup(10, 2);
    view.settings = { maxHeld: 1, holdTimeoutMs: 60_000 };
    const first = await arrive((p) => exchange(p, 'idle'));
    const second = await (await arrive((p) => get(p))).reply;
    expect(bodyOf(second.received)).toMatch(/^LULL_MAX_HELD: ns\/web already has 1 connections held/);
    view.set({ failure: 'gone' });
    await first.reply;
    expect(ctx.total.heldIn('ns')).toBe(0);
    expect([...ctx.total.namespaces().keys()]).toEqual([]);
  });

  it('moves a connection on to another pod when one refuses, its bytes intact', async () => {
    const { view, outcomes, arrive } = await setup();
    const echo = await echoServer();
    const dead = createServer();
    const deadPort = await listening(dead);
    await new Promise((r) => dead.close(r));
    cleanups.push(echo.close);
    view.ready = [{ address: HOST, port: deadPort }];
    const { reply } = await arrive((p) => exchange(p, 'survives a refusal', { end: true }));
    await expect.poll(() => view.refused.length).toBe(1);
    expect(view.hold.held).toBe(1);
    view.set({ ready: [{ address: HOST, port: echo.port }] });
    expect((await reply).received.toString()).toBe('survives a refusal');
    expect(outcomes).toEqual(['retried', 'held_forwarded']);
  });

  it('forwards all of many held connections with few connects in flight at a time', async () => {
    const { view, arrive } = await setup();
    const slow = createServer((s) => {
      s.resume();
      s.end('ok');
    });
    const port = await listening(slow);
    cleanups.push(() => new Promise((r) => slow.close(r)));
    const replies = (await Promise.all(Array.from({ length: 20 }, () => arrive((p) => exchange(p, 'x', { end: true }))))).map((a) => a.reply);
    view.set({ ready: [{ address: HOST, port }] });
    expect((await Promise.all(replies)).every((r) => r.received.toString() === 'ok')).toBe(true);
  });
});
