import { describe, expect, it } from 'vitest';
import type { AutoscaleSettings } from '../../../core/autoscale-settings.ts';
import { Decider } from '../../../reconciler/autoscale/decide.ts';

const settings = (over: Partial<AutoscaleSettings> = {}): AutoscaleSettings => ({
  metric: 'concurrency',
  target: 5,
  minReplicas: 1,
  maxReplicas: 100,
  scaleDownDelayMs: 0,
  stableWindowMs: 60_000,
  ...over,
});

/**
 * Drives a Decider one second at a time the way the reconciler does: the load is what `current`
 * replicas see, new replicas are ready `startS` seconds after being asked for. Returns the replica count each second.
 */
function run(d: Decider, load: (second: number) => number, seconds: number, start = { replicas: 1, startS: 0 }) {
  let replicas = start.replicas;
  const readyAt: number[] = Array.from({ length: replicas }, () => 0);
  const trace: number[] = [];
  const reasons: string[] = [];
  for (let t = 1; t <= seconds; t++) {
    const now = t * 1000;
    d.record(now, load(t));
    const ready = readyAt.filter((at) => at <= t).length;
    const decision = d.decide(now, replicas, ready);
    if (decision && decision.desired !== replicas) {
      reasons.push(decision.reason);
      if (decision.desired > replicas) for (let i = replicas; i < decision.desired; i++) readyAt.push(t + start.startS);
      else readyAt.splice(decision.desired);
      replicas = decision.desired;
    }
    trace.push(replicas);
  }
  return { trace, reasons, replicas };
}

describe('autoscale decision', () => {
  it('keeps replicas while no load is known', () => {
    expect(new Decider(settings()).decide(1000, 3, 3)).toBeUndefined();
  });

  it('a step from 0 to 50 in flight with target 5 asks for 10 replicas in the first second (panic)', () => {
    const d = new Decider(settings());
    d.record(1000, 0);
    expect(d.decide(1000, 1, 1)?.desired).toBe(1);
    d.record(2000, 50);
    const decision = d.decide(2000, 1, 1)!;
    expect(decision.panicking).toBe(true);
    // Half a step in the panic window's average so far (25 over 2 s): 5 pods at once, the rest next second.
    expect(decision.desired).toBe(5);
    expect(decision.reason).toMatch(/^panic: 25 in flight over the last 6s for a target of 5 per pod/);
    d.record(3000, 50);
    expect(d.decide(3000, 5, 1)?.desired).toBe(10);
  });

  it('reaches the right count after a step and does not overshoot or oscillate under steady load', () => {
    const d = new Decider(settings());
    const { trace } = run(d, (t) => (t < 5 ? 0 : 50), 300, { replicas: 1, startS: 3 });
    // Step at t=5: 10 replicas asked for at t=6 (two seconds of it), never more, never fewer after.
    expect(trace.slice(3, 7)).toEqual([1, 2, 10, 10]);
    expect(Math.max(...trace)).toBe(10);
    expect(new Set(trace.slice(5))).toEqual(new Set([10]));
  });

  it('steady load with ±8% noise around a multiple of the target never changes the count once reached', () => {
    const d = new Decider(settings());
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.16;
    const { trace } = run(d, () => 50 * (1 + noise()), 600, { replicas: 10, startS: 0 });
    expect(trace.slice(60).every((n) => n === trace[60])).toBe(true);
    expect([10, 11]).toContain(trace[60]);
  });

  it('never scales down while panicking, and leaves panic one stable window after the last spike', () => {
    const d = new Decider(settings({ stableWindowMs: 20_000 }));
    // 3 s of spike, then nothing.
    const { trace } = run(d, (t) => (t >= 2 && t <= 4 ? 100 : 0), 60, { replicas: 1, startS: 0 });
    expect(Math.max(...trace)).toBe(20);
    const peak = trace.indexOf(20);
    // Last second over the threshold is t=3 (20 wanted of 10 ready); panic holds until t=23 (3 + 20 s).
    expect(peak).toBe(2);
    expect(trace.slice(peak, 22).every((n) => n === 20)).toBe(true);
    expect(trace[22]).toBeLessThan(20);
    expect(trace.at(-1)).toBe(1);
  });

  it('scales down by at most half per decision', () => {
    const d = new Decider(settings({ stableWindowMs: 6000 }));
    for (let t = 1; t <= 6; t++) d.record(t * 1000, 0);
    expect(d.decide(6000, 40, 40)?.desired).toBe(20);
  });

  it('bounds a scale-up to 1000 times the ready pods and to max-replicas, saying so', () => {
    const d = new Decider(settings({ maxReplicas: 30 }));
    d.record(1000, 10_000);
    const decision = d.decide(1000, 1, 1)!;
    expect(decision.desired).toBe(30);
    expect(decision.reason).toMatch(/capped at max-replicas 30/);
  });

  it('holds a lower count back for the scale-down delay', () => {
    const d = new Decider(settings({ stableWindowMs: 6000, scaleDownDelayMs: 10_000 }));
    const { trace, reasons } = run(d, (t) => (t <= 10 ? 50 : 0), 40, { replicas: 10, startS: 0 });
    // Load gone at t=11; the 6 s window empties by t=16; the delay holds 10 until the last 10 is 10 s old.
    // Load gone at t=11, when the stable average last called for 10: the first step down is 10 s later.
    const firstDown = trace.findIndex((n) => n < 10) + 1;
    expect(firstDown).toBe(21);
    expect(trace.at(-1)).toBe(1);
    expect(reasons[0]).toMatch(/held at 8 for the scale-down delay of 10s/);
  });

  it('never goes below 1 (zero is the sleep path) nor below min-replicas', () => {
    const zeroMin = new Decider(settings({ minReplicas: 0, stableWindowMs: 6000 }));
    for (let t = 1; t <= 6; t++) zeroMin.record(t * 1000, 0);
    expect(zeroMin.decide(6000, 1, 1)?.desired).toBe(1);
    const three = new Decider(settings({ minReplicas: 3, stableWindowMs: 6000 }));
    for (let t = 1; t <= 6; t++) three.record(t * 1000, 0);
    expect(three.decide(6000, 3, 3)?.desired).toBe(3);
  });

  it('does not flap at the boundary: a load just under a multiple of the target keeps the higher count', () => {
    const d = new Decider(settings({ stableWindowMs: 6000 }));
    for (let t = 1; t <= 6; t++) d.record(t * 1000, 49);
    // 49 / 5 = 9.8 → 10 would be exact, but 10 are running: stays; at 11 running, 49 fits 11 at 90% → stays 11.
    expect(d.decide(6000, 11, 11)?.desired).toBe(11);
    for (let t = 7; t <= 12; t++) d.record(t * 1000, 40);
    expect(d.decide(12_000, 11, 11)?.desired).toBe(9);
  });

  it('a load a hair over a multiple of the target does not buy one more pod (1% up-tolerance)', () => {
    const d = new Decider(settings({ stableWindowMs: 6000 }));
    for (let t = 1; t <= 6; t++) d.record(t * 1000, 50.3);
    expect(d.decide(6000, 10, 10)?.desired).toBe(10);
    for (let t = 7; t <= 12; t++) d.record(t * 1000, 53);
    expect(d.decide(12_000, 10, 10)?.desired).toBe(11);
  });

  it('scales on requests per second the same way', () => {
    const d = new Decider(settings({ metric: 'rps', target: 100 }));
    d.record(1000, 250);
    expect(d.decide(1000, 3, 3)?.desired).toBe(3);
  });
});
