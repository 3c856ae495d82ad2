import { describe, expect, it } from 'vitest';
import { describeInstant, instantOf, isOpen, momentOf, nextTransition, parseSchedule, type Schedule } from '../../../core/schedule.ts';

function schedule(text: string): Schedule {
  const parsed = parseSchedule(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error.token}: ${parsed.error.why}`);
  return parsed.schedule;
}
const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const next = (s: Schedule, when: string) => {
  const n = nextTransition(s, at(when));
  return n && { kind: n.kind, at: iso(n.at) };
};

describe('parseSchedule: the grammar', () => {
  it('reads days, several ranges, several groups and the zone', () => {
    const s = schedule('Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Paris');
    expect(s.zone).toBe('Europe/Paris');
    expect(s.ranges).toHaveLength(5 * 2 + 1);
    expect(s.ranges).toContainEqual({ day: 6, start: 600, end: 840 });
    expect(s.ranges).toContainEqual({ day: 1, start: 780, end: 1140 });
  });
  it('wraps day ranges over the weekend, takes day lists, any case and spaces after commas', () => {
    expect(new Set(schedule('Fri-Mon 09:00-17:00 UTC').ranges.map((r) => r.day))).toEqual(new Set([5, 6, 0, 1]));
    expect(new Set(schedule('mon, WED 09:00-10:00, 11:00-12:00 UTC').ranges.map((r) => r.day))).toEqual(new Set([1, 3]));
  });
  it('takes 24:00 as an end and lets an end before the start cross midnight', () => {
    expect(schedule('Sun 00:00-24:00 UTC').ranges).toEqual([{ day: 0, start: 0, end: 1440 }]);
    expect(schedule('Fri 22:00-02:00 UTC').ranges).toEqual([{ day: 5, start: 1320, end: 1560 }]);
  });
  it('points at the token at fault and says what is allowed', () => {
    const error = (text: string) => {
      const parsed = parseSchedule(text);
      return parsed.ok ? undefined : parsed.error;
    };
    expect(error('Mon-Fry 08:00-19:00 UTC')).toEqual({ token: 'Fry', why: expect.stringContaining('days are Mon, Tue') });
    expect(error('Mon-Fri 08:00-19:70 UTC')?.token).toBe('08:00-19:70');
    expect(error('Mon-Fri 24:00-02:00 UTC')?.token).toBe('24:00-02:00');
    expect(error('Mon-Fri 08:00-08:00 UTC')).toEqual({ token: '08:00-08:00', why: expect.stringContaining('00:00-24:00') });
    expect(error('Mon-Fri 08:00-19:00 Europe/Pariss')).toEqual({ token: 'Europe/Pariss', why: expect.stringContaining('IANA') });
    expect(error('Mon-Fri 08:00-19:00')).toEqual({ token: '08:00-19:00', why: expect.stringContaining('must end with a time zone') });
    expect(error('Mon-Fri 08:00-19:00 +01:00')?.token).toBe('+01:00');
    expect(error('08:00-19:00 UTC')?.why).toContain('needs days and times');
    expect(error('Mon-Fri 08:00-12:00; 13:00-19:00 UTC')?.token).toBe('13:00-19:00');
    expect(error('')?.why).toContain('needs days');
  });
});

describe('isOpen and nextTransition', () => {
  const work = schedule('Mon-Fri 08:00-19:00 Europe/Paris');
  it('opens and closes at the wall-clock times of the zone', () => {
    // Tuesday 1 December 2026, Paris is UTC+1.
    expect(isOpen(work, at('2026-12-01T06:59:59Z'))).toBe(false);
    expect(isOpen(work, at('2026-12-01T07:00:00Z'))).toBe(true);
    expect(isOpen(work, at('2026-12-01T17:59:59Z'))).toBe(true);
    expect(isOpen(work, at('2026-12-01T18:00:00Z'))).toBe(false);
    expect(next(work, '2026-12-01T12:00:00Z')).toEqual({ kind: 'close', at: '2026-12-01T18:00:00.000Z' });
    // Friday evening: the next opening is Monday.
    expect(next(work, '2026-12-04T18:00:00Z')).toEqual({ kind: 'open', at: '2026-12-07T07:00:00.000Z' });
  });
  it('keeps several ranges and groups apart', () => {
    const split = schedule('Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 UTC');
    expect(isOpen(split, at('2026-12-01T12:30:00Z'))).toBe(false);
    expect(next(split, '2026-12-01T12:30:00Z')).toEqual({ kind: 'open', at: '2026-12-01T13:00:00.000Z' });
    expect(next(split, '2026-12-04T20:00:00Z')).toEqual({ kind: 'open', at: '2026-12-05T10:00:00.000Z' });
    expect(next(split, '2026-12-05T11:00:00Z')).toEqual({ kind: 'close', at: '2026-12-05T14:00:00.000Z' });
  });
  it('merges ranges that touch: a wrapped weekend is one window, a full week never closes', () => {
    const weekend = schedule('Fri-Sun 00:00-24:00 UTC');
    expect(next(weekend, '2026-12-02T12:00:00Z')).toEqual({ kind: 'open', at: '2026-12-04T00:00:00.000Z' });
    expect(next(weekend, '2026-12-05T12:00:00Z')).toEqual({ kind: 'close', at: '2026-12-07T00:00:00.000Z' });
    const always = schedule('Mon-Sun 00:00-24:00 UTC');
    expect(isOpen(always, at('2026-12-01T00:00:00Z'))).toBe(true);
    expect(nextTransition(always, at('2026-12-01T00:00:00Z'))).toBeUndefined();
  });
  it('carries a range that crosses midnight into the next day, and over the end of the week', () => {
    const night = schedule('Sun 22:00-06:00 UTC');
    expect(isOpen(night, at('2026-12-06T23:00:00Z'))).toBe(true); // Sunday night
    expect(isOpen(night, at('2026-12-07T05:59:00Z'))).toBe(true); // Monday morning
    expect(next(night, '2026-12-07T01:00:00Z')).toEqual({ kind: 'close', at: '2026-12-07T06:00:00.000Z' });
    expect(isOpen(night, at('2026-12-07T22:30:00Z'))).toBe(false);
  });
  it('opens early by a lead (wake-at-start) without moving the close', () => {
    const m = momentOf(work, at('2026-12-01T06:58:00Z'), 3 * 60_000);
    expect(m).toEqual({ open: true, openedAt: at('2026-12-01T06:57:00Z'), next: { kind: 'close', at: at('2026-12-01T18:00:00Z') } });
    expect(momentOf(work, at('2026-12-01T06:56:00Z'), 3 * 60_000).next).toEqual({ kind: 'open', at: at('2026-12-01T06:57:00Z') });
  });
});

describe('across DST changes', () => {
  it('Europe/Paris, 2026-03-29: the day clocks go forward opens an hour earlier in UTC', () => {
    const weekend = schedule('Sat-Sun 08:00-19:00 Europe/Paris');
    expect(next(weekend, '2026-03-28T00:00:00Z')).toEqual({ kind: 'open', at: '2026-03-28T07:00:00.000Z' }); // CET
    expect(next(weekend, '2026-03-28T20:00:00Z')).toEqual({ kind: 'open', at: '2026-03-29T06:00:00.000Z' }); // CEST
    expect(next(weekend, '2026-03-29T12:00:00Z')).toEqual({ kind: 'close', at: '2026-03-29T17:00:00.000Z' });
  });
  it('Europe/Paris: a 02:30 that does not exist opens when the clock jumps to 03:00', () => {
    const early = schedule('Sun 02:30-05:00 Europe/Paris');
    expect(instantOf('Europe/Paris', Date.UTC(2026, 2, 29, 2, 30))).toBe(at('2026-03-29T01:00:00Z'));
    expect(next(early, '2026-03-29T00:30:00Z')).toEqual({ kind: 'open', at: '2026-03-29T01:00:00.000Z' });
    expect(isOpen(early, at('2026-03-29T00:59:59Z'))).toBe(false);
    expect(isOpen(early, at('2026-03-29T01:00:00Z'))).toBe(true);
    expect(next(early, '2026-03-29T01:00:00Z')).toEqual({ kind: 'close', at: '2026-03-29T03:00:00.000Z' });
    // A range entirely inside the skipped hour is simply not open that day.
    const skipped = schedule('Sun 02:10-02:50 Europe/Paris');
    expect(next(skipped, '2026-03-28T12:00:00Z')).toEqual({ kind: 'open', at: '2026-04-05T00:10:00.000Z' });
  });
  it('Europe/Paris, 2026-10-25: a 02:30 that happens twice counts once, at its first occurrence', () => {
    expect(instantOf('Europe/Paris', Date.UTC(2026, 9, 25, 2, 30))).toBe(at('2026-10-25T00:30:00Z')); // 02:30 CEST
    const early = schedule('Sun 02:30-04:00 Europe/Paris');
    expect(next(early, '2026-10-24T12:00:00Z')).toEqual({ kind: 'open', at: '2026-10-25T00:30:00.000Z' });
    expect(next(early, '2026-10-25T00:30:00Z')).toEqual({ kind: 'close', at: '2026-10-25T03:00:00.000Z' }); // 04:00 CET: 2.5 h open
    // A night window ending at 02:30 closes at the first 02:30 and does not open again at the second.
    const night = schedule('Sat 22:00-02:30 Europe/Paris');
    expect(next(night, '2026-10-24T21:00:00Z')).toEqual({ kind: 'close', at: '2026-10-25T00:30:00.000Z' });
    expect(isOpen(night, at('2026-10-25T01:15:00Z'))).toBe(false); // 02:15 CET, the second time round
    expect(next(night, '2026-10-25T01:15:00Z')).toEqual({ kind: 'open', at: '2026-10-31T21:00:00.000Z' }); // next Saturday, CET
  });
  it('America/New_York: working hours and a night window across both changes of 2026', () => {
    const work = schedule('Mon-Fri 09:00-17:00 America/New_York');
    expect(next(work, '2026-03-06T22:00:00Z')).toEqual({ kind: 'open', at: '2026-03-09T13:00:00.000Z' }); // EDT from Sunday 8 March
    expect(next(work, '2026-10-30T22:00:00Z')).toEqual({ kind: 'open', at: '2026-11-02T14:00:00.000Z' }); // EST from Sunday 1 November
    const night = schedule('Sat 22:00-06:00 America/New_York');
    expect(next(night, '2026-03-07T12:00:00Z')).toEqual({ kind: 'open', at: '2026-03-08T03:00:00.000Z' }); // 22:00 EST
    expect(next(night, '2026-03-08T03:00:00Z')).toEqual({ kind: 'close', at: '2026-03-08T10:00:00.000Z' }); // 06:00 EDT: 7 h open
    expect(next(night, '2026-10-31T12:00:00Z')).toEqual({ kind: 'open', at: '2026-11-01T02:00:00.000Z' }); // 22:00 EDT
    expect(next(night, '2026-11-01T02:00:00Z')).toEqual({ kind: 'close', at: '2026-11-01T11:00:00.000Z' }); // 06:00 EST: 9 h open
    // 01:30 happens twice on 1 November: it counts at the first (EDT).
    expect(instantOf('America/New_York', Date.UTC(2026, 10, 1, 1, 30))).toBe(at('2026-11-01T05:30:00Z'));
  });
});

describe('describeInstant', () => {
  it('says the local day and time, the zone and the UTC instant', () => {
    expect(describeInstant('Europe/Paris', at('2026-03-30T06:00:00Z'))).toBe('Mon 2026-03-30 08:00 Europe/Paris (2026-03-30T06:00:00Z)');
  });
});
