// Awake-hours in the reconciler (docs/design.md "Schedules"): outside them an app sleeps as soon as nothing
// is in flight, wake-at-start scales it up a lead before they open, and an app with a schedule is looked
// at again at its next transition (a deadline in the heap, not a poll).
import { SLEPT_AT } from '../core/annotations.ts';
import { awakeHoursOf, DEFAULT_WAKE_LEAD_MS, type AwakeHours } from '../core/awake-hours.ts';
import { formatDuration } from '../core/duration.ts';
import { EVENT_REASONS } from '../core/events.ts';
import { describeInstant, momentOf, type Moment } from '../core/schedule.ts';
import { wakeReplicas, type App } from './app.ts';
import type { Context } from './context.ts';

/** Outside hours, how soon to ask again while a request is in flight. */
export const OUTSIDE_RECHECK_MS = 1000;

export interface HoursNow {
  hours: AwakeHours & { schedule: NonNullable<AwakeHours['schedule']> };
  /** The lead applied to openings (wake-at-start's), 0 without it. */
  leadMs: number;
  /** Open at this moment, the lead counted as open (an app woken early is not put back to sleep). */
  moment: Moment;
}

/** Pure (Intl aside): the app's schedule at `now`, or undefined when it has none (or a bad one). */
export function hoursNow(annotations: Record<string, string> | undefined, now: number, wakeLeadMs = DEFAULT_WAKE_LEAD_MS): HoursNow | undefined {
  const hours = awakeHoursOf(annotations);
  if (hours.schedule === undefined) return undefined;
  const leadMs = hours.wakeAtStart ? wakeLeadMs : 0;
  return { hours: hours as HoursNow['hours'], leadMs, moment: momentOf(hours.schedule, now, leadMs) };
}

/**
 * Pure: wake-at-start wakes an app that is asleep inside its (early) window only if it fell asleep
 * before that window began: one that slept for being idle during the window stays asleep.
 */
export function wakesAtStart(h: HoursNow, sleptAt: string | undefined): boolean {
  if (!h.hours.wakeAtStart || !h.moment.open || h.moment.openedAt === undefined) return false;
  const slept = Date.parse(sleptAt ?? '');
  return Number.isFinite(slept) && slept < h.moment.openedAt;
}

/** The schedule as a reconcile uses it: asks for a reconcile at the next transition. */
export function scheduleOf(ctx: Context, app: App): HoursNow | undefined {
  const h = hoursNow(app.deployment.metadata.annotations, ctx.now(), ctx.wakeLeadMs);
  if (h?.moment.next) app.later(h.moment.next.at);
  return h;
}

/** Pure: the Slept Event's words for a sleep at the close of the window. */
export function scheduleSleepMessage(h: HoursNow, before: number): string {
  const { schedule, outsideHours } = h.hours;
  const opens = h.moment.next ? `; it opens ${describeInstant(schedule.zone, h.moment.next.at + h.leadMs)}` : '';
  const after = outsideHours === 'refuse' ? 'requests are refused with 503 until then (outside-hours: refuse)' : 'requests now wake it through the interceptor';
  return `Outside awake-hours "${schedule.text}" and nothing in flight: scaled from ${before} to 0${opens}; ${after}`;
}

/** Asleep inside the early window of wake-at-start: scale up before the first person arrives. */
export async function wakeAtStart(ctx: Context, app: App, h: HoursNow | undefined): Promise<void> {
  const d = app.deployment;
  if (h === undefined || d.replicas !== 0 || !wakesAtStart(h, d.metadata.annotations?.[SLEPT_AT])) return;
  const replicas = wakeReplicas(d, app.settings);
  // Guarded: if a request (the interceptor) or a user scaled it meanwhile, theirs stands.
  await ctx.api.scale(app.namespace, app.name, replicas, d.metadata.resourceVersion);
  app.memory.wokeBySchedule = true;
  const opens = (h.moment.openedAt ?? ctx.now()) + h.leadMs;
  ctx.record(
    { namespace: app.namespace, name: app.name, uid: d.metadata.uid },
    EVENT_REASONS.waking,
    `Awake-hours "${h.hours.schedule.text}" open ${describeInstant(h.hours.schedule.zone, opens)}: scaled from 0 to ${replicas} ${formatDuration(h.leadMs)} ahead (wake-at-start)`,
    'Normal',
    { action: 'schedule' },
  );
}
