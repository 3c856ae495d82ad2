import { describe, expect, it } from 'vitest';
import type { ActivitySnapshot } from '../../../core/sidecar-contract.ts';
import { activeAt, decide, failureBackoffMs, firstDeadline, type PodAnswer } from '../../../reconciler/idle.ts';

const IDLE = 3000;

function snap(partial: Partial<ActivitySnapshot>): ActivitySnapshot {
  return { lastActivityAt: 0, inFlight: 0, requestsInFlight: 0, connectionsInFlight: 0, requestsTotal: 0, connectionsTotal: 0, ready: true, draining: false, startedAt: 0, now: 0, ...partial };
}
const answer = (pod: string, s: Partial<ActivitySnapshot>, receivedAt: number): PodAnswer => ({ pod, snapshot: snap(s), receivedAt });

describe('activeAt', () => {
  it('measures idleness on the pod clock, so a skewed node does not move the deadline', () => {
    // The pod's clock is an hour ahead: 1 s since its last request either way.
    expect(activeAt(snap({ lastActivityAt: 3_601_000, now: 3_602_000 }), 10_000)).toBe(9_000);
    expect(activeAt(snap({ lastActivityAt: 1_000, now: 2_000 }), 10_000)).toBe(9_000);
  });

  it('counts a pod that never saw a request from its start', () => {
    expect(activeAt(snap({ lastActivityAt: 0, startedAt: 5_000, now: 7_000 }), 10_000)).toBe(8_000);
  });
});

describe('decide', () => {
  it('is idle when every pod has been quiet for idle-after', () => {
    const v = decide([answer('a', { lastActivityAt: 1000, now: 5000 }, 5000), answer('b', { lastActivityAt: 2000, now: 5000 }, 5000)], IDLE, 5000);
    expect(v).toEqual({ idle: true, activeAt: 2000 });
  });

  it('counts the moment the Services began reaching the sidecar as activity (traffic before it went around the sidecar)', () => {
    const quiet = answer('a', { lastActivityAt: 0, startedAt: 0, now: 10_000 }, 10_000);
    expect(decide([quiet], IDLE, 10_000).idle).toBe(true);
    expect(decide([quiet], IDLE, 10_000, 0, 9000)).toMatchObject({ idle: false, activeAt: 9000, recheckAt: 9000 + IDLE });
  });

  it('is exact at the deadline: the latest activity plus idle-after', () => {
    const v = decide([answer('a', { lastActivityAt: 2500, now: 5000 }, 5000)], IDLE, 5000);
    expect(v).toMatchObject({ idle: false, activeAt: 2500, recheckAt: 5500, reason: 'recent activity' });
    expect(decide([answer('a', { lastActivityAt: 2500, now: 5500 }, 5500)], IDLE, 5500).idle).toBe(true);
  });

  it('is busy while a request is in flight, even an old one, and asks again one idle period later', () => {
    const v = decide([answer('a', { lastActivityAt: 0, now: 60_000, requestsInFlight: 1, inFlight: 1 }, 60_000)], IDLE, 60_000);
    expect(v).toMatchObject({ idle: false, activeAt: 60_000, recheckAt: 63_000 });
  });

  it('does not count an open layer-4 connection as busy: only its bytes are activity', () => {
    const v = decide([answer('a', { lastActivityAt: 1000, now: 10_000, inFlight: 1, connectionsInFlight: 1, requestsInFlight: 0 }, 10_000)], IDLE, 10_000);
    expect(v.idle).toBe(true);
  });

  it('never sleeps on missing data: a pod that cannot be asked counts as busy, with backoff', () => {
    const answers: PodAnswer[] = [answer('a', { lastActivityAt: 0, now: 10_000 }, 10_000), { pod: 'b', error: 'connect ECONNREFUSED' }];
    const v = decide(answers, IDLE, 10_000, 0);
    expect(v).toMatchObject({ idle: false, recheckAt: 10_500 });
    expect(v.idle === false && v.reason).toContain('b: connect ECONNREFUSED');
    expect(decide([], IDLE, 10_000)).toMatchObject({ idle: false, reason: 'no pod to ask' });
  });

  it('backs off failures up to idle-after, at most 30 s', () => {
    expect([1, 2, 3, 4].map((n) => failureBackoffMs(n, 60_000))).toEqual([500, 1000, 2000, 4000]);
    expect(failureBackoffMs(10, IDLE)).toBe(IDLE);
    expect(failureBackoffMs(20, 3_600_000)).toBe(30_000);
  });
});

describe('firstDeadline', () => {
  it('is the latest of known activity and pod starts, plus idle-after', () => {
    expect(firstDeadline(undefined, [1000, 4000, undefined], IDLE)).toBe(7000);
    expect(firstDeadline(9000, [1000], IDLE)).toBe(12_000);
    // A pod added after the last ask pushes the deadline: it cannot have been idle longer than it ran.
    expect(firstDeadline(2000, [5000], IDLE)).toBe(8000);
  });

  it('is due at once when nothing is known', () => {
    expect(firstDeadline(undefined, [undefined], IDLE)).toBe(-Infinity);
  });
});
