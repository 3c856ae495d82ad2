import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LocalHistogram } from '../../../sidecar/histogram.ts';

describe('LocalHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    const theirs = new Registry();
    const ours = new Registry();
    const config = { name: 'lull_test_seconds', help: 'test durations', buckets };
    const reference = new Histogram({ ...config, registers: [theirs] });
    const local = new LocalHistogram({ ...config, registers: [ours] });
    for (const v of [0, 0.0001, 0.0005, 0.0007, 0.001, 0.003, 0.2, 0.25, 7, 30, 31, 1000]) {
      reference.observe(v);
      local.observe(v);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('lull_test_seconds_bucket{le="0.0005"} 3\n');
    expect(text).toContain('lull_test_seconds_count 12\n');
    // prom-client adds `exemplar: null` to its buckets (exemplars are off): not part of what is exposed.
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (k, v) => (k === 'exemplar' ? undefined : v)));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
    local.reset();
    reference.reset();
    reference.zero({});
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
