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

/** After a drain answered, how long past its maximum the pod stays in drain mode if it does not stop. */
export const DRAIN_LINGER_MS = 60_000;

/** How long drain mode outlives a drain's answer: longer than the app's stop (the grace period leaves 10 s for it). */
export function lingerFor(maxMs: number): number {
  return maxMs + DRAIN_LINGER_MS;
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

/**
 * One drain at a time. A call while a drain runs joins it (never extends it); a call after it answered
 * gets that answer. Drain mode (`Connection: close` on every response) ends `lingerMs` after the
 * answer if the pod is still running then, so a drain that stopped nothing is not for good.
 * `final` (SIGTERM) drains again if needed and never ends drain mode.
 */
export class Drainer {
  readonly #activity: Activity;
  readonly #defaults: DrainOptions;
  readonly #lingerMs: number;
  readonly #onStart: () => void;
  #running: Promise<DrainResult> | undefined;
  #answered: DrainResult | undefined;
  #linger: NodeJS.Timeout | undefined;
  #draining = false;
  #final = false;

  constructor(activity: Activity, defaults: DrainOptions, lingerMs: number, onStart: () => void) {
    this.#activity = activity;
    this.#defaults = defaults;
    this.#lingerMs = lingerMs;
    this.#onStart = onStart;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** `options` are bounded by the caller (admin.ts): at most the configured maximum. */
  start(options: Partial<DrainOptions> = {}): Promise<DrainResult> {
    if (this.#running !== undefined) return this.#running;
    if (this.#answered !== undefined) return Promise.resolve(this.#answered);
    return this.#run(options);
  }

  /** The pod is stopping for sure (SIGTERM): join the drain under way, or drain once more. */
  final(): Promise<DrainResult> {
    this.#final = true;
    clearTimeout(this.#linger);
    return this.#running ?? this.#run({});
  }

  stop(): void {
    clearTimeout(this.#linger);
  }

  #run(options: Partial<DrainOptions>): Promise<DrainResult> {
    this.#draining = true;
    this.#onStart();
    const settings = { quietMs: options.quietMs ?? this.#defaults.quietMs, maxMs: options.maxMs ?? this.#defaults.maxMs };
    const running = drain(this.#activity, settings).then((result) => {
      this.#running = undefined;
      if (!this.#final) {
        this.#answered = result;
        this.#linger = setTimeout(() => {
          this.#answered = undefined;
          this.#draining = false;
        }, this.#lingerMs);
        this.#linger.unref();
      }
      return result;
    });
    this.#running = running;
    return running;
  }
}
