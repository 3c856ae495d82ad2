// Per-second load for request-based scaling: the in-flight count is sampled ten times a second and the
// request counter read once a second, so the request path does no extra work at all.
import type { SidecarLoad } from '../core/sidecar-contract.ts';
import type { Activity } from './activity.ts';

/** Samples per second of the in-flight count: enough to see a 200 ms request, cheap as a timer. */
export const LOAD_SAMPLES_PER_SECOND = 10;

export class Load {
  readonly #activity: Pick<Activity, 'requestsInFlight' | 'requestsTotal'>;
  #sum = 0;
  #samples = 0;
  #secondStartedAt: number;
  #requestsAtStart: number;
  #last: SidecarLoad | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(activity: Pick<Activity, 'requestsInFlight' | 'requestsTotal'>, now = Date.now()) {
    this.#activity = activity;
    this.#secondStartedAt = now;
    this.#requestsAtStart = activity.requestsTotal;
  }

  /** One look at what is in flight; every LOAD_SAMPLES_PER_SECOND-th closes the second. */
  sample(now = Date.now()): void {
    this.#sum += this.#activity.requestsInFlight;
    if (++this.#samples >= LOAD_SAMPLES_PER_SECOND) this.#roll(now);
  }

  #roll(now: number): void {
    const windowMs = Math.max(1, now - this.#secondStartedAt);
    const requests = this.#activity.requestsTotal - this.#requestsAtStart;
    this.#last = { concurrency: this.#sum / this.#samples, rps: (requests * 1000) / windowMs, windowMs, at: now };
    this.#sum = 0;
    this.#samples = 0;
    this.#secondStartedAt = now;
    this.#requestsAtStart = this.#activity.requestsTotal;
  }

  /** The last full second, or undefined before one has passed. */
  get last(): SidecarLoad | undefined {
    return this.#last;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.sample(), 1000 / LOAD_SAMPLES_PER_SECOND).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
