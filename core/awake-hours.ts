// The schedule annotations of a Deployment, read once for every part: awake-hours, outside-hours, wake-at-start.
import { AWAKE_HOURS, OUTSIDE_HOURS, WAKE_AT_START, type AnnotationProblem } from './annotations.ts';
import { describeInstant, momentOf, parseSchedule, SCHEDULE_ALLOWED, type Schedule } from './schedule.ts';

/** What a request does outside awake-hours: wake the app as at any time, or get a 503 until it opens. */
export type OutsideHours = 'wake' | 'refuse';

export interface AwakeHours {
  /** Undefined: no schedule (or a bad one), the app is always in hours. */
  schedule?: Schedule;
  outsideHours: OutsideHours;
  wakeAtStart: boolean;
  problems: AnnotationProblem[];
}

/** How long before the window opens wake-at-start wakes the app, unless the reconciler is told otherwise (--wake-lead). */
export const DEFAULT_WAKE_LEAD_MS = 3 * 60_000;

const OUTSIDE_ALLOWED = '"wake" (a request wakes the app, the default) or "refuse" (503 with Retry-After until the window opens)';
const WAKE_AT_START_ALLOWED = '"true" (wake the app a few minutes before its awake-hours open) or "false"';

/** Pure (Intl aside): the schedule settings, defaults where absent, a problem for each bad value. */
export function awakeHoursOf(annotations: Record<string, string> | undefined): AwakeHours {
  const problems: AnnotationProblem[] = [];
  const out: AwakeHours = { outsideHours: 'wake', wakeAtStart: false, problems };
  const hours = annotations?.[AWAKE_HOURS];
  if (hours !== undefined) {
    const parsed = parseSchedule(hours);
    if (parsed.ok) out.schedule = parsed.schedule;
    else problems.push({ key: AWAKE_HOURS, value: hours, allowed: SCHEDULE_ALLOWED, at: parsed.error });
  }
  const outside = annotations?.[OUTSIDE_HOURS];
  if (outside === 'wake' || outside === 'refuse') out.outsideHours = outside;
  else if (outside !== undefined) problems.push({ key: OUTSIDE_HOURS, value: outside, allowed: OUTSIDE_ALLOWED });
  const atStart = annotations?.[WAKE_AT_START];
  if (atStart === 'true' || atStart === 'false') out.wakeAtStart = atStart === 'true';
  else if (atStart !== undefined) problems.push({ key: WAKE_AT_START, value: atStart, allowed: WAKE_AT_START_ALLOWED });
  return out;
}

/**
 * When the app's awake-hours next open, if they are closed at `now` (epoch ms); undefined when it has no
 * schedule or is in hours. What the interceptor's 503 and the waiting page tell people.
 */
export function opensAt(annotations: Record<string, string> | undefined, now: number): number | undefined {
  const { schedule } = awakeHoursOf(annotations);
  if (schedule === undefined) return undefined;
  const moment = momentOf(schedule, now);
  return moment.open ? undefined : moment.next?.at;
}

/** `opensAt` for people ('' when not closed): what the waiting page's "opens at" line shows. */
export function opensAtText(annotations: Record<string, string> | undefined, now: number): string {
  const { schedule } = awakeHoursOf(annotations);
  if (schedule === undefined) return '';
  const moment = momentOf(schedule, now);
  return moment.open || moment.next === undefined ? '' : describeInstant(schedule.zone, moment.next.at);
}
