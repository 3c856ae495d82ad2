// Awake-hours at the interceptor: outside them, with `lull.dev/outside-hours: refuse`, a request for a
// sleeping app gets 503 with Retry-After (seconds to the opening) instead of a wake.
import { AWAKE_HOURS, OUTSIDE_HOURS } from '../core/annotations.ts';
import { awakeHoursOf } from '../core/awake-hours.ts';
import { errors, lullError } from '../core/errors.ts';
import { describeInstant, momentOf } from '../core/schedule.ts';
import type { Refusal } from './refuse.ts';

/** Pure (Intl aside): the refusal for a request at `now`, and until when that answer holds. */
export function outsideHoursRefusal(app: string, annotations: Record<string, string> | undefined, now: number): { refusal?: Refusal; opensAt?: number; until: number } {
  const { schedule, outsideHours } = awakeHoursOf(annotations);
  if (schedule === undefined || outsideHours !== 'refuse') return { until: Infinity };
  const moment = momentOf(schedule, now);
  if (moment.open) return { until: moment.next?.at ?? Infinity };
  const opensAt = moment.next?.at;
  if (opensAt === undefined) return { until: Infinity };
  const refusal = { ...refusalFor(app, schedule.text, describeInstant(schedule.zone, opensAt)), retryAfterS: retryAfterS(opensAt, now) };
  return { refusal, opensAt, until: opensAt };
}

function refusalFor(app: string, hours: string, opens: string): Omit<Refusal, 'retryAfterS'> {
  const err = lullError(errors.outsideHours, app, hours, opens);
  return { code: err.code, message: err.message, status: err.status };
}

/** Whole seconds to the opening, at least 1. */
export function retryAfterS(opensAt: number, now: number): number {
  return Math.max(1, Math.ceil((opensAt - now) / 1000));
}

/** One app's answer, worked out again only when its annotations change or a transition passes. */
export class HoursGate {
  #key: string | undefined;
  #until = -Infinity;
  #refusal: Refusal | undefined;
  #opensAt: number | undefined;

  refusal(app: string, annotations: Record<string, string> | undefined, now: number): Refusal | undefined {
    const key = `${annotations?.[AWAKE_HOURS] ?? ''}\n${annotations?.[OUTSIDE_HOURS] ?? ''}`;
    if (key !== this.#key || now >= this.#until) {
      const answer = outsideHoursRefusal(app, annotations, now);
      this.#key = key;
      this.#until = answer.until;
      this.#refusal = answer.refusal;
      this.#opensAt = answer.opensAt;
    }
    if (this.#refusal === undefined || this.#opensAt === undefined) return undefined;
    return { ...this.#refusal, retryAfterS: retryAfterS(this.#opensAt, now) };
  }
}
