// Idle decisions (docs/design.md "Lifecycles"): pure functions of what the sidecars answered and when.
import type { ActivitySnapshot } from '../core/sidecar-contract.ts';

/** One pod's answer: its snapshot and the reconciler's clock when it arrived, or why it could not be asked. */
export type PodAnswer = { pod: string; snapshot: ActivitySnapshot; receivedAt: number } | { pod: string; error: string };

export type Verdict =
  /** Nothing in flight anywhere and no activity for idle-after: sleep now. */
  | { idle: true; activeAt: number }
  /** Not idle: ask again at `recheckAt`. `activeAt` is the latest activity, in the reconciler's clock. */
  | { idle: false; activeAt: number; recheckAt: number; reason: string };

/**
 * When a pod last saw activity, in the reconciler's clock. Computed from the pod's own `now`, so a node
 * whose clock is off does not move the deadline; a pod that never saw a request counts from its start.
 */
export function activeAt(snapshot: ActivitySnapshot, receivedAt: number): number {
  const since = snapshot.lastActivityAt > 0 ? snapshot.lastActivityAt : snapshot.startedAt;
  return receivedAt - Math.max(0, snapshot.now - since);
}

/** A request in flight is activity now. Layer-4 connections that are merely open are not (their bytes are). */
export function busyNow(snapshot: ActivitySnapshot): boolean {
  return (snapshot.requestsInFlight ?? snapshot.inFlight) > 0;
}

/** How long to wait before asking again after `failures` failed asks in a row: never longer than idle-after. */
export function failureBackoffMs(failures: number, idleAfterMs: number): number {
  return Math.min(idleAfterMs, 30_000, 500 * 2 ** Math.max(0, Math.min(failures - 1, 10)));
}

/**
 * Pure. Idle only when every pod answered, none has a request in flight and the latest activity is at
 * least idle-after old. A pod that could not be asked counts as busy: never sleep on missing data.
 * `floor` is activity known without asking (the moment the Services started reaching the sidecar).
 */
export function decide(answers: readonly PodAnswer[], idleAfterMs: number, now: number, failures = 0, floor = -Infinity): Verdict {
  let latest = floor;
  let inFlight = 0;
  const failed: string[] = [];
  for (const answer of answers) {
    if ('error' in answer) {
      failed.push(`${answer.pod}: ${answer.error}`);
      continue;
    }
    latest = Math.max(latest, activeAt(answer.snapshot, answer.receivedAt));
    if (busyNow(answer.snapshot)) inFlight++;
  }
  if (answers.length === 0) return { idle: false, activeAt: now, recheckAt: now + failureBackoffMs(failures + 1, idleAfterMs), reason: 'no pod to ask' };
  if (failed.length > 0) {
    return { idle: false, activeAt: Number.isFinite(latest) ? latest : now, recheckAt: now + failureBackoffMs(failures + 1, idleAfterMs), reason: `could not ask ${failed.join('; ')}` };
  }
  // The request may end at any moment; asking again one idle period later keeps the cost at one ask per period.
  if (inFlight > 0) return { idle: false, activeAt: now, recheckAt: now + idleAfterMs, reason: `${inFlight} pod(s) with requests in flight` };
  if (now - latest >= idleAfterMs) return { idle: true, activeAt: latest };
  return { idle: false, activeAt: latest, recheckAt: latest + idleAfterMs, reason: 'recent activity' };
}

/**
 * Pure: the earliest time the app could be idle, before anything is asked. No pod can have been idle
 * for longer than it has run, and nothing is newer than the last known activity.
 */
export function firstDeadline(knownActiveAt: number | undefined, podStarts: readonly (number | undefined)[], idleAfterMs: number): number {
  let floor = knownActiveAt ?? -Infinity;
  for (const start of podStarts) if (start !== undefined) floor = Math.max(floor, start);
  return Number.isFinite(floor) ? floor + idleAfterMs : -Infinity;
}
