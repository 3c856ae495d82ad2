// Awake-hours (`lull.dev/awake-hours`): the grammar, and when a schedule is open, in any IANA time zone.
//
//   schedule = group *(";" group) zone          "Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Paris"
//   group    = days times
//   days     = day ["-" day] *("," day ["-" day]) Mon..Sun, any case; "Fri-Mon" wraps over the weekend
//   times    = HH:MM-HH:MM *("," HH:MM-HH:MM)      00:00-24:00; an end at or before the start crosses midnight
//   zone     = an IANA name Intl knows (Europe/Paris, America/New_York, UTC)
//
// Times are wall-clock times in the zone. A time a DST change skips counts from the moment the clock
// jumps past it; a time that happens twice counts at its first occurrence.

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Index = JavaScript's getUTCDay(). */
export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** One open range: on `day` (0 = Sunday) from `start` to `end`, minutes after that day's midnight (end ≤ 2880). */
export interface Range {
  day: number;
  start: number;
  end: number;
}

export interface Schedule {
  /** The annotation's text, as written. */
  text: string;
  zone: string;
  ranges: readonly Range[];
}

export interface ScheduleError {
  /** The token at fault, as written (the whole value when it is missing a part). */
  token: string;
  why: string;
}

export type Parsed = { ok: true; schedule: Schedule } | { ok: false; error: ScheduleError };

/** What an awake-hours value may be, for error messages. */
export const SCHEDULE_ALLOWED =
  'days, times and an IANA time zone, such as "Mon-Fri 08:00-19:00 Europe/Paris" or "Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 UTC" (days Mon..Sun, ranges like Fri-Mon wrap; times 00:00-24:00, an end before the start crosses midnight)';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's canonical name, or undefined when Intl does not know it. */
export function validZone(zone: string): string | undefined {
  if (!/^[A-Za-z]/.test(zone)) return undefined; // Intl also takes "+01:00", which is no IANA zone.
  try {
    return formatter(zone).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function parseDay(token: string): number | undefined {
  const i = DAY_NAMES.findIndex((d) => d.toLowerCase() === token.toLowerCase());
  return i < 0 ? undefined : i;
}

/** Minutes after midnight for HH:MM (24:00 allowed only as an end). */
function parseTime(token: string, isEnd: boolean): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(token);
  if (m === null) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && (min !== 0 || !isEnd))) return undefined;
  return h * 60 + min;
}

function fail(token: string, why: string): Parsed {
  return { ok: false, error: { token, why } };
}

/** Pure (Intl aside): the schedule, or the first token at fault and why. */
export function parseSchedule(text: string): Parsed {
  const words = text.trim().split(/\s+/);
  const zoneToken = words[words.length - 1]!;
  if (zoneToken === '') return fail(text, 'needs days, times and a time zone');
  if (/^\d/.test(zoneToken) || parseDay(zoneToken.split(/[-,;]/)[0]!) !== undefined) return fail(zoneToken, 'the value must end with a time zone such as Europe/Paris or UTC');
  const zone = validZone(zoneToken);
  if (zone === undefined) return fail(zoneToken, 'not a time zone Lull knows (an IANA name such as Europe/Paris, America/New_York or UTC)');
  if (words.length < 3) return fail(text, 'needs days and times before the time zone, such as "Mon-Fri 08:00-19:00 Europe/Paris"');

  const ranges: Range[] = [];
  const body = text.trim().slice(0, text.trim().length - zoneToken.length);
  for (const group of body.split(';')) {
    // Spaces after commas are allowed: "Mon, Wed 08:00-12:00, 14:00-18:00".
    const parts = group.trim().replace(/\s*([,-])\s*/g, '$1').split(/\s+/);
    if (parts.length !== 2 || parts[0] === '') return fail(group.trim() || ';', 'each group is days then times, such as "Mon-Fri 08:00-19:00"; groups are separated by ";"');
    const [daysToken, timesToken] = parts as [string, string];

    const days = new Set<number>();
    for (const spec of daysToken.split(',')) {
      const ends = spec.split('-');
      const from = parseDay(ends[0] ?? '');
      const to = ends.length === 2 ? parseDay(ends[1]!) : from;
      if (ends.length > 2 || from === undefined || to === undefined) {
        const bad = ends.find((e) => parseDay(e) === undefined) ?? spec;
        return fail(bad, 'not a day: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, or a range such as Mon-Fri');
      }
      for (let d = from; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === to) break;
      }
    }

    for (const span of timesToken.split(',')) {
      const ends = span.split('-');
      const start = parseTime(ends[0] ?? '', false);
      const end = ends.length === 2 ? parseTime(ends[1]!, true) : undefined;
      if (ends.length !== 2 || start === undefined || end === undefined) {
        return fail(span, 'not a time range: HH:MM-HH:MM, from 00:00 to 24:00, such as 08:00-19:00 or 22:00-02:00');
      }
      if (start === end) return fail(span, 'an empty range: for a whole day write 00:00-24:00');
      for (const day of days) ranges.push({ day, start, end: end > start ? end : end + 1440 });
    }
  }
  return { ok: true, schedule: { text, zone, ranges } };
}

/** The wall-clock time in `zone` at instant `t`, as the epoch ms of that date and time in UTC. */
export function wallTime(zone: string, t: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const ms = ((t % 1000) + 1000) % 1000;
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + ms;
}

/**
 * The earliest instant whose wall-clock time in `zone` is at least `wall`: the first occurrence of a time
 * that happens twice, the moment the clock jumps past a time that never happens.
 */
export function instantOf(zone: string, wall: number): number {
  const key = `${zone} ${wall}`;
  let t = resolved.get(key);
  if (t === undefined) {
    // Zone rules do not change while the process runs: a bounded memo spares Intl the same question per reconcile.
    if (resolved.size >= 50_000) resolved.clear();
    resolved.set(key, (t = resolveInstant(zone, wall)));
  }
  return t;
}

const resolved = new Map<string, number>();

function resolveInstant(zone: string, wall: number): number {
  const offsetBefore = wallTime(zone, wall - DAY_MS) - (wall - DAY_MS);
  const offsetAfter = wallTime(zone, wall + DAY_MS) - (wall + DAY_MS);
  const a = wall - offsetBefore;
  const b = wall - offsetAfter;
  const aOk = wallTime(zone, a) === wall;
  const bOk = wallTime(zone, b) === wall;
  if (aOk && bOk) return Math.min(a, b);
  if (aOk) return a;
  if (bOk) return b;
  // In a gap: the wall clock runs from below `wall` at `lo` to above it at `hi`; find the jump.
  let lo = Math.min(a, b);
  let hi = Math.max(a, b);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallTime(zone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface Interval {
  from: number;
  to: number;
}

/**
 * Pure (Intl aside): the open intervals, merged, that touch the days from two before `instant` to nine
 * after, each opening `leadMs` early. An interval reaching `horizon` may go on past it.
 */
export function openIntervals(schedule: Schedule, instant: number, leadMs = 0): { intervals: Interval[]; horizon: number } {
  const today = Math.floor(wallTime(schedule.zone, instant) / DAY_MS) * DAY_MS;
  const raw: Interval[] = [];
  for (let k = -2; k <= 9; k++) {
    const midnight = today + k * DAY_MS;
    const weekday = new Date(midnight).getUTCDay();
    for (const r of schedule.ranges) {
      if (r.day !== weekday) continue;
      const from = instantOf(schedule.zone, midnight + r.start * MINUTE_MS) - leadMs;
      const to = instantOf(schedule.zone, midnight + r.end * MINUTE_MS);
      if (to > from) raw.push({ from, to });
    }
  }
  raw.sort((x, y) => x.from - y.from);
  const intervals: Interval[] = [];
  for (const i of raw) {
    const last = intervals[intervals.length - 1];
    if (last !== undefined && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else intervals.push({ ...i });
  }
  return { intervals, horizon: instantOf(schedule.zone, today + 10 * DAY_MS) };
}

export interface Transition {
  kind: 'open' | 'close';
  at: number;
}

export interface Moment {
  open: boolean;
  /** The next change; undefined when it never comes (open every minute of the week). */
  next?: Transition;
  /** While open, when the current window opened (its lead included). */
  openedAt?: number;
}

/** Pure (Intl aside): whether the schedule is open at `instant` (opening `leadMs` early), and what comes next. */
export function momentOf(schedule: Schedule, instant: number, leadMs = 0): Moment {
  const { intervals, horizon } = openIntervals(schedule, instant, leadMs);
  for (const i of intervals) {
    if (i.to <= instant) continue;
    if (i.from <= instant) return i.to >= horizon ? { open: true, openedAt: i.from } : { open: true, openedAt: i.from, next: { kind: 'close', at: i.to } };
    return { open: false, next: { kind: 'open', at: i.from } };
  }
  return { open: false };
}

export function isOpen(schedule: Schedule, instant: number): boolean {
  return momentOf(schedule, instant).open;
}

/** The next opening or closing after `instant`; undefined for a schedule open all week. */
export function nextTransition(schedule: Schedule, instant: number): Transition | undefined {
  return momentOf(schedule, instant).next;
}

/** For people: "Mon 08:00 Europe/Paris (2026-03-30T06:00:00Z)". */
export function describeInstant(zone: string, t: number): string {
  const wall = new Date(wallTime(zone, t));
  const hhmm = wall.toISOString().slice(11, 16);
  return `${DAY_NAMES[wall.getUTCDay()]} ${wall.toISOString().slice(0, 10)} ${hhmm} ${zone} (${new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z')})`;
}
