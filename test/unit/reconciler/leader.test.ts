import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.ts';
import { elector, type LeaseRecord, type LeaseStore } from '../../../reconciler/leader.ts';

/** One Lease in memory with the apiserver's compare-and-swap; `down` makes every call fail. */
function memoryStore() {
  let lease: { resourceVersion: string; spec: LeaseRecord } | undefined;
  let rv = 0;
  const state = { down: false };
  const check = () => {
    if (state.down) throw new Error('connect ECONNREFUSED');
  };
  const store: LeaseStore = {
    async get() {
      check();
      return lease && structuredClone(lease);
    },
    async create(spec) {
      check();
      if (lease) return false;
      lease = { resourceVersion: String(++rv), spec };
      return true;
    },
    async update(resourceVersion, spec) {
      check();
      if (!lease || lease.resourceVersion !== resourceVersion) return false;
      lease = { resourceVersion: String(++rv), spec: { ...lease.spec, ...spec } };
      return true;
    },
  };
  return { store, state, lease: () => lease };
}

const logger = createLogger('test', 'silent');
const settings = (identity: string) => ({ identity, durationMs: 500, renewDeadlineMs: 300, retryPeriodMs: 25 });

function candidate(store: LeaseStore, identity: string) {
  const log: string[] = [];
  const e = elector({ store, settings: settings(identity), logger, onStartedLeading: () => log.push('start'), onStoppedLeading: () => log.push('stop') });
  void e.run();
  return { e, log };
}

describe('leader election', () => {
  it('elects one leader; a standby waits while the Lease is renewed', async () => {
    const m = memoryStore();
    const a = candidate(m.store, 'a');
    await expect.poll(() => a.e.isLeader()).toBe(true);
    const b = candidate(m.store, 'b');
    await new Promise((r) => setTimeout(r, 700)); // longer than the Lease: renewals keep it
    expect(b.e.isLeader()).toBe(false);
    expect(m.lease()!.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
    await b.e.stop();
    await a.e.stop();
  });

  it('hands over within the Lease duration when the leader dies, and counts the transition', async () => {
    const m = memoryStore();
    // The leader reaches the Lease through a link the test can cut: a crashed or partitioned replica.
    const link = { cut: false };
    const severable: LeaseStore = {
      get: () => (link.cut ? Promise.reject(new Error('gone')) : m.store.get()),
      create: (s) => (link.cut ? Promise.reject(new Error('gone')) : m.store.create(s)),
      update: (rv, s) => (link.cut ? Promise.reject(new Error('gone')) : m.store.update(rv, s)),
    };
    const a = candidate(severable, 'a');
    await expect.poll(() => a.e.isLeader()).toBe(true);
    const b = candidate(m.store, 'b');
    await new Promise((r) => setTimeout(r, 100));
    link.cut = true;
    const diedAt = Date.now();
    await expect.poll(() => b.e.isLeader(), { timeout: 3000, interval: 10 }).toBe(true);
    // The Lease's duration (whole seconds on the wire, so 1 s) plus at most two retry periods.
    expect(Date.now() - diedAt).toBeLessThan(1000 + 2 * 25 + 100);
    expect(m.lease()!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // The cut-off leader stepped down on its own, after the renew deadline.
    expect(a.e.isLeader()).toBe(false);
    await a.e.stop();
    await b.e.stop();
  });

  it('releases the Lease on a clean stop, so a standby takes over at once', async () => {
    const m = memoryStore();
    const a = candidate(m.store, 'a');
    await expect.poll(() => a.e.isLeader()).toBe(true);
    const b = candidate(m.store, 'b');
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = Date.now();
    await a.e.stop();
    expect(a.log).toEqual(['start', 'stop']);
    expect(m.lease()!.spec.holderIdentity).toBe('');
    await expect.poll(() => b.e.isLeader(), { timeout: 1000, interval: 10 }).toBe(true);
    expect(Date.now() - stoppedAt).toBeLessThan(500);
    await b.e.stop();
  });

  it('steps down when it cannot renew within the deadline, and leads again once it can', async () => {
    const m = memoryStore();
    const a = candidate(m.store, 'a');
    await expect.poll(() => a.e.isLeader()).toBe(true);
    m.state.down = true;
    await expect.poll(() => a.e.isLeader(), { timeout: 2000, interval: 20 }).toBe(false);
    expect(a.log).toEqual(['start', 'stop']);
    m.state.down = false;
    await expect.poll(() => a.e.isLeader(), { timeout: 2000, interval: 20 }).toBe(true);
    expect(a.log).toEqual(['start', 'stop', 'start']);
    await a.e.stop();
  });

  it('steps down at once when another replica holds the Lease', async () => {
    const m = memoryStore();
    const a = candidate(m.store, 'a');
    await expect.poll(() => a.e.isLeader()).toBe(true);
    const current = m.lease()!;
    await m.store.update(current.resourceVersion, { ...current.spec, holderIdentity: 'intruder' });
    await expect.poll(() => a.e.isLeader(), { timeout: 500, interval: 10 }).toBe(false);
    await a.e.stop();
  });
});

describe('a Lease that cannot be taken', () => {
  it('says why and what fixes it: a missing namespace, a missing permission', async () => {
    const { leaseProblem } = await import('../../../reconciler/leader.ts');
    const { KubeApiError } = await import('../../../core/kube-client.ts');
    const missing = leaseProblem(new KubeApiError('POST', '/apis/coordination.k8s.io/v1/namespaces/lull-system/leases', 404, 'NotFound', 'namespaces "lull-system" not found'), 'lull-system', 'lull-reconciler');
    expect(missing).toEqual({
      code: '404',
      lasting: true,
      message: 'cannot take the leader Lease lull-system/lull-reconciler: namespace lull-system does not exist; create it: kubectl create namespace lull-system',
    });
    const forbidden = leaseProblem(new KubeApiError('GET', '/x', 403, 'Forbidden', 'no'), 'lull-system', 'lull-reconciler');
    expect(forbidden.message).toContain('forbidden; grant its ServiceAccount get, create and patch on leases in lull-system');
    expect(leaseProblem(new Error('connect ECONNREFUSED 10.0.0.1:6443'), 'lull-system', 'lull-reconciler')).toMatchObject({ code: 'network', lasting: false });
  });

  it('warns once per distinct problem, reports each failure, and forgets it once the Lease works', async () => {
    const m = memoryStore();
    const fail = { on: true };
    const notFound = Object.assign(new Error('namespaces "lull-system" not found'), { statusCode: 404 });
    const store: LeaseStore = {
      ...m.store,
      create: async (spec) => {
        if (fail.on) throw notFound;
        return m.store.create(spec);
      },
      explain: (err) => ({ code: String((err as { statusCode: number }).statusCode), lasting: true, message: 'namespace lull-system does not exist' }),
    };
    const warnings: string[] = [];
    // Only the lines matter here: a logger that keeps the warnings.
    const counting = { warn: (_: unknown, msg: string) => warnings.push(msg), info: () => {}, debug: () => {} } as unknown as typeof logger;
    const errorsSeen: string[] = [];
    const e = elector({ store, settings: settings('a'), logger: counting, onStartedLeading: () => {}, onStoppedLeading: () => {}, onLeaseError: (p) => errorsSeen.push(p.code) });
    void e.run();
    await expect.poll(() => errorsSeen.length).toBeGreaterThanOrEqual(3);
    expect(e.problem()).toMatchObject({ code: '404', lasting: true });
    expect(warnings).toEqual(['namespace lull-system does not exist']);
    fail.on = false;
    await expect.poll(() => e.isLeader()).toBe(true);
    expect(e.problem()).toBeUndefined();
    await e.stop();
  });
});
