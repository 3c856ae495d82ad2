// Waits until the pod can stop without losing a request: no HTTP request in flight and none arrived
// (nor client bytes) for a quiet period since the drain began, bounded by a maximum. Waits on the
// next deadline or on the last request ending; never polls.
import type { Activity } from './activity.ts';

export interface DrainOptions {
  quietMs: number;
  maxMs: number;
}

export interface DrainResult {
  /** False when the maximum ran out first. */
  drained: boolean;
  waitedMs: number;
}

/** Resolves at `ms` from now, or earlier when `early` settles. */
function until(ms: number, early?: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    early?.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function drain(activity: Activity, options: DrainOptions, startedAt = Date.now()): Promise<DrainResult> {
  const deadline = startedAt + options.maxMs;
  for (;;) {
    const now = Date.now();
    if (activity.requestsInFlight === 0) {
      // Quiet counts from the drain's start too: endpoints take a moment to stop sending here.
      const quietUntil = Math.max(activity.lastActivityAt, startedAt) + options.quietMs;
      if (now >= quietUntil) return { drained: true, waitedMs: now - startedAt };
      if (now >= deadline) return { drained: false, waitedMs: now - startedAt };
      await until(Math.min(quietUntil, deadline) - now);
    } else {
      if (now >= deadline) return { drained: false, waitedMs: now - startedAt };
      await until(deadline - now, activity.noRequestsInFlight());
    }
  }
}
