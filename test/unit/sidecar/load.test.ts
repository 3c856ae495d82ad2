import { describe, expect, it } from 'vitest';
import { Load, LOAD_SAMPLES_PER_SECOND } from '../../../sidecar/load.ts';

describe('per-second load', () => {
  it('averages ten samples of what is in flight and counts requests per second, with no per-request work', () => {
    const activity = { requestsInFlight: 0, requestsTotal: 0 };
    const load = new Load(activity, 0);
    expect(load.last).toBeUndefined();
    // Half the second with 4 in flight, half with 0; 30 requests arrived.
    for (let i = 1; i <= LOAD_SAMPLES_PER_SECOND; i++) {
      activity.requestsInFlight = i <= 5 ? 4 : 0;
      if (i === 5) activity.requestsTotal = 30;
      load.sample(i * 100);
    }
    expect(load.last).toEqual({ concurrency: 2, rps: 30, windowMs: 1000, at: 1000 });
    // A slow second (timers late): the rate is per measured second.
    activity.requestsTotal = 60;
    for (let i = 1; i <= LOAD_SAMPLES_PER_SECOND; i++) load.sample(1000 + i * 200);
    expect(load.last).toEqual({ concurrency: 0, rps: 15, windowMs: 2000, at: 3000 });
  });
});
