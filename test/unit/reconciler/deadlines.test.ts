import { describe, expect, it } from 'vitest';
import { Deadlines, type Clock } from '../../../reconciler/deadlines.ts';

/** A clock the test moves by hand; it records every timer so we can see there is only ever one. */
function fakeClock() {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  return {
    clock,
    timers,
    advance(to: number) {
      now = to;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        timers.delete(id);
        t.fn();
      }
    },
  };
}

describe('Deadlines', () => {
  it('fires each key once at its deadline, in order, with one timer for all', () => {
    const c = fakeClock();
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k), c.clock);
    d.schedule('b', 200);
    d.schedule('a', 100);
    d.schedule('c', 300);
    expect(c.timers.size).toBe(1);
    c.advance(99);
    expect(fired).toEqual([]);
    c.advance(200);
    expect(fired).toEqual(['a', 'b']);
    expect(c.timers.size).toBe(1);
    c.advance(1000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(c.timers.size).toBe(0);
    expect(d.size).toBe(0);
  });

  it('moves a deadline when it is given again, later or earlier, and forgets a cancelled one', () => {
    const c = fakeClock();
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(`${k}@${c.clock.now()}`), c.clock);
    d.schedule('a', 100);
    d.schedule('a', 500);
    d.schedule('b', 300);
    d.schedule('b', 50);
    d.schedule('c', 200);
    d.cancel('c');
    c.advance(50);
    c.advance(100);
    c.advance(200);
    c.advance(500);
    expect(fired).toEqual(['b@50', 'a@500']);
    expect(d.get('a')).toBeUndefined();
  });

  it('fires a deadline already passed at once', () => {
    const c = fakeClock();
    c.advance(1000);
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k), c.clock);
    d.schedule('late', 10);
    c.advance(1000);
    expect(fired).toEqual(['late']);
  });

  it('clear drops everything', () => {
    const c = fakeClock();
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k), c.clock);
    for (let i = 0; i < 100; i++) d.schedule(`k${i}`, 100 + i);
    d.clear();
    c.advance(10_000);
    expect(fired).toEqual([]);
    expect(c.timers.size).toBe(0);
  });

  it('keeps 5,000 apps in order through many reschedules', () => {
    const c = fakeClock();
    const fired: Array<[string, number]> = [];
    const d = new Deadlines((k) => fired.push([k, c.clock.now()]), c.clock);
    const final = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) {
        const at = 1000 + ((i * 7919 + round * 104_729) % 50_000);
        d.schedule(`app${i}`, at);
        final.set(`app${i}`, at);
      }
    }
    for (let t = 0; t <= 60_000; t += 250) c.advance(t);
    expect(fired).toHaveLength(5000);
    for (const [key, at] of fired) expect(at).toBeGreaterThanOrEqual(final.get(key)!);
    for (const [key, at] of fired) expect(at - final.get(key)!).toBeLessThan(250);
  });
});
