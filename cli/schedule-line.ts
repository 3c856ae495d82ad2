// `lull status`'s schedule: where an app with awake-hours stands now and its next transition (pure).
import { awakeHoursOf, type OutsideHours } from '../core/awake-hours.ts';
import { describeInstant, momentOf } from '../core/schedule.ts';
import { humanDuration } from '../core/duration.ts';

/** In `-o json|yaml`: times as RFC 3339. */
export interface ScheduleStatus {
  awakeHours: string;
  zone: string;
  outsideHours: OutsideHours;
  wakeAtStart: boolean;
  open: boolean;
  next?: { kind: 'open' | 'close'; at: string };
}

/** Pure (Intl aside): undefined for an app without (valid) awake-hours. */
export function scheduleStatus(annotations: Record<string, string> | undefined, now: number): ScheduleStatus | undefined {
  const { schedule, outsideHours, wakeAtStart } = awakeHoursOf(annotations);
  if (schedule === undefined) return undefined;
  const moment = momentOf(schedule, now);
  return {
    awakeHours: schedule.text,
    zone: schedule.zone,
    outsideHours,
    wakeAtStart,
    open: moment.open,
    ...(moment.next ? { next: { kind: moment.next.kind, at: new Date(moment.next.at).toISOString() } } : {}),
  };
}

/** One line under the table: "awake-hours Mon-Fri 08:00-19:00 Europe/Paris: open, closes Tue ... in 3h; ...". */
export function scheduleLine(s: ScheduleStatus, now: number): string {
  const at = s.next && Date.parse(s.next.at);
  const next = s.next && at !== undefined ? `, ${s.next.kind === 'open' ? 'opens' : 'closes'} ${describeInstant(s.zone, at)} in ${humanDuration(at - now)}` : ', never closes';
  const outside = s.outsideHours === 'refuse' ? 'refused (503 until it opens)' : 'wake it';
  return `awake-hours ${s.awakeHours}: ${s.open ? 'open' : 'closed'}${next}; outside them requests ${outside}${s.wakeAtStart ? '; woken before it opens (wake-at-start)' : ''}`;
}
