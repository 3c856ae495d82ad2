// The scaling decision for one app (docs/design.md "Autoscaling"), modelled on Knative's KPA: a stable
// window for the steady figure, a panic window a tenth as long that scales up fast on a spike and never
// down while panicking, bounded rates, a scale-down delay, min/max. Pure: time and load come in as numbers.
import { PANIC_WINDOW_SHARE, replicasForLoad, type AutoscaleSettings } from '../../core/autoscale-settings.ts';

/** Knative's defaults: panic at twice the ready pods; up by at most 1000×, down by at most half, per decision. */
export const PANIC_THRESHOLD = 2;
export const MAX_SCALE_UP_RATE = 1000;
export const MAX_SCALE_DOWN_RATE = 2;
/**
 * Better than the KPA at a boundary: a scale-down must fit the load at 90% of the target, so a load
 * hovering at a multiple of the target does not flap between two counts (the HPA's 10% tolerance).
 */
export const SCALE_DOWN_TOLERANCE = 0.1;

export interface Decision {
  /** Replicas the app should have now (min/max applied, ≥ 1: zero is the sleep path's). */
  desired: number;
  /** Averages of the app's total load over each window, in the target's unit. */
  stable: number;
  panic: number;
  panicking: boolean;
  /** Why, in a few words, for the Event. */
  reason: string;
}

interface Point {
  at: number;
  value: number;
}

/** Average of the points within `windowMs` of `now`; undefined when none. */
function average(points: readonly Point[], now: number, windowMs: number): number | undefined {
  let sum = 0;
  let n = 0;
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    if (p.at <= now - windowMs) break;
    sum += p.value;
    n++;
  }
  return n === 0 ? undefined : sum / n;
}

const round = (n: number) => Math.round(n * 10) / 10;

export class Decider {
  settings: AutoscaleSettings;
  /** The app's total load, one point a second. */
  #points: Point[] = [];
  /** Desired counts over the scale-down delay: the highest wins. */
  #recent: Point[] = [];
  #panicSince: number | undefined;
  #panicLastOver = 0;
  #maxPanicPods = 0;

  constructor(settings: AutoscaleSettings) {
    this.settings = settings;
  }

  get panicWindowMs(): number {
    return Math.max(1000, this.settings.stableWindowMs * PANIC_WINDOW_SHARE);
  }

  get panicking(): boolean {
    return this.#panicSince !== undefined;
  }

  /** The app's total load (all pods) for the second ending at `at`. */
  record(at: number, total: number): void {
    this.#points.push({ at, value: total });
    const horizon = at - this.settings.stableWindowMs;
    let drop = 0;
    while (drop < this.#points.length && this.#points[drop]!.at <= horizon) drop++;
    if (drop > 0) this.#points.splice(0, drop);
  }

  /** undefined while no load is known: replicas stay as they are. */
  decide(now: number, current: number, readyPods: number): Decision | undefined {
    const s = this.settings;
    const stable = average(this.#points, now, s.stableWindowMs);
    if (stable === undefined) return undefined;
    const panic = Math.max(average(this.#points, now, this.panicWindowMs) ?? stable, this.#sustained(now));
    const ready = Math.max(1, readyPods);
    let stableWant = replicasForLoad(stable, s.target);
    const panicWant = replicasForLoad(panic, s.target);
    // Hysteresis on the way down only: the lower count must carry the load with 10% to spare.
    if (stableWant < current) stableWant = Math.min(current, Math.ceil(stable / (s.target * (1 - SCALE_DOWN_TOLERANCE))));

    const over = panicWant / ready >= PANIC_THRESHOLD;
    if (over) {
      this.#panicSince ??= now;
      this.#panicLastOver = now;
    } else if (this.#panicSince !== undefined && now - this.#panicLastOver >= s.stableWindowMs) {
      // A whole stable window without a spike: the stable figure is trustworthy again.
      this.#panicSince = undefined;
      this.#maxPanicPods = 0;
    }

    let desired: number;
    let reason: string;
    if (this.#panicSince !== undefined) {
      // Never down while panicking: hold the highest count the panic asked for (and what is already there).
      this.#maxPanicPods = Math.max(this.#maxPanicPods, panicWant, current);
      desired = this.#maxPanicPods;
      reason = `panic: ${round(panic)} in flight over the last ${this.panicWindowMs / 1000}s for a target of ${s.target} per pod`;
    } else {
      desired = stableWant;
      reason = `${round(stable)} in flight over the last ${s.stableWindowMs / 1000}s for a target of ${s.target} per pod`;
    }
    if (s.metric === 'rps') reason = reason.replace(' in flight', ' requests/s');

    // Scale-down delay, on what the load calls for (before the rate bound): the highest count within it.
    if (s.scaleDownDelayMs > 0) {
      this.#recent.push({ at: now, value: desired });
      while (this.#recent.length > 0 && this.#recent[0]!.at <= now - s.scaleDownDelayMs) this.#recent.shift();
      let held = desired;
      for (const p of this.#recent) held = Math.max(held, p.value);
      held = Math.min(held, current); // History never scales up.
      if (held > desired) reason = `${reason}; held at ${held} for the scale-down delay of ${s.scaleDownDelayMs / 1000}s`;
      desired = Math.max(desired, held);
    }

    // Bounded rates, relative to the pods ready now.
    desired = Math.min(Math.ceil(MAX_SCALE_UP_RATE * ready), Math.max(Math.floor(ready / MAX_SCALE_DOWN_RATE), desired));
    const floor = Math.max(1, s.minReplicas);
    if (desired > s.maxReplicas) reason = `${reason}; capped at max-replicas ${s.maxReplicas}`;
    desired = Math.min(s.maxReplicas, Math.max(floor, desired));
    return { desired, stable, panic, panicking: this.#panicSince !== undefined, reason };
  }

  /**
   * Better than the KPA after a step: the lower of the last two seconds. A step shows in full two
   * seconds in, where the panic window's average would climb over six; a one-second blip does not count.
   */
  #sustained(now: number): number {
    const n = this.#points.length;
    if (n < 2) return 0;
    const a = this.#points[n - 1]!;
    const b = this.#points[n - 2]!;
    if (a.at <= now - this.panicWindowMs || b.at <= now - this.panicWindowMs) return 0;
    return Math.min(a.value, b.value);
  }
}
