import { describe, expect, it } from 'vitest';
import { autoscaleSettings, parseAutoscale, wakeReplicasFor } from '../../../core/autoscale-settings.ts';
import { annotationProblems } from '../../../webhook/annotation-problems.ts';

describe('autoscaling annotations', () => {
  it('an app without a target is not autoscaled', () => {
    expect(parseAutoscale({ 'lull.dev/enabled': 'true' })).toEqual({ settings: undefined, problems: [] });
  });

  it('reads a concurrency target with the defaults', () => {
    expect(autoscaleSettings({ 'lull.dev/target-concurrency': '10' })).toEqual({ metric: 'concurrency', target: 10, minReplicas: 0, maxReplicas: 100, scaleDownDelayMs: 0, stableWindowMs: 60_000 });
    expect(autoscaleSettings({ 'lull.dev/target-rps': '2.5', 'lull.dev/min-replicas': '2', 'lull.dev/max-replicas': '8', 'lull.dev/scale-down-delay': '30s', 'lull.dev/stable-window': '12s' })).toEqual({
      metric: 'rps',
      target: 2.5,
      minReplicas: 2,
      maxReplicas: 8,
      scaleDownDelayMs: 30_000,
      stableWindowMs: 12_000,
    });
  });

  it('refuses both targets, naming the key, the value and what is allowed', () => {
    expect(parseAutoscale({ 'lull.dev/target-concurrency': '10', 'lull.dev/target-rps': '5' }).problems).toEqual([
      { key: 'lull.dev/target-rps', value: '5', allowed: 'not together with lull.dev/target-concurrency: choose one target' },
    ]);
  });

  it('refuses bad values and min above max', () => {
    const { settings, problems } = parseAutoscale({ 'lull.dev/target-concurrency': '0', 'lull.dev/max-replicas': '5000', 'lull.dev/scale-down-delay': 'soon' });
    expect(settings).toBeUndefined();
    expect(problems.map((p) => p.key)).toEqual(['lull.dev/target-concurrency', 'lull.dev/max-replicas', 'lull.dev/scale-down-delay']);
    expect(problems[1]!.allowed).toBe('a whole number from 1 to 1000');
    expect(parseAutoscale({ 'lull.dev/target-concurrency': '5', 'lull.dev/min-replicas': '4', 'lull.dev/max-replicas': '3' }).problems).toEqual([
      { key: 'lull.dev/min-replicas', value: '4', allowed: 'at most lull.dev/max-replicas (3)' },
    ]);
  });

  it('refuses bounds without a target: they would do nothing', () => {
    expect(parseAutoscale({ 'lull.dev/max-replicas': '3' }).problems).toEqual([
      { key: 'lull.dev/max-replicas', value: '3', allowed: 'only with lull.dev/target-concurrency or lull.dev/target-rps, which turn request-based scaling on' },
    ]);
  });

  it('the webhook judges them only when one of them changes', () => {
    const both = { 'lull.dev/target-concurrency': '10', 'lull.dev/target-rps': '5' };
    expect(annotationProblems(both, {}).map((p) => p.key)).toEqual(['lull.dev/target-rps']);
    expect(annotationProblems({ ...both, 'lull.dev/idle-after': '5m' }, both)).toEqual([]);
  });

  it('wakes to enough replicas for the held connections (200 held, target 10: 20)', () => {
    const s = autoscaleSettings({ 'lull.dev/target-concurrency': '10' })!;
    expect(wakeReplicasFor(s, 200)).toBe(20);
    expect(wakeReplicasFor(s, 1)).toBe(1);
    expect(wakeReplicasFor({ ...s, maxReplicas: 8 }, 200)).toBe(8);
    expect(wakeReplicasFor({ ...s, minReplicas: 3 }, 1)).toBe(3);
    expect(wakeReplicasFor({ ...s, metric: 'rps' }, 200)).toBe(1);
  });
});
