// One drain at a time: joined, answered again, and drain mode that ends if the pod does not stop.
import { describe, expect, it } from 'vitest';
import { Activity } from '../../../sidecar/activity.ts';
import { Drainer, lingerFor } from '../../../sidecar/drain.ts';
import { until } from './helpers.ts';

describe('Drainer', () => {
  it('runs one drain: later calls join it or get its answer, and nothing extends it', async () => {
    let starts = 0;
    const drainer = new Drainer(new Activity(), { quietMs: 100, maxMs: 1000 }, 60_000, () => starts++);
    try {
      const first = drainer.start();
      const joined = drainer.start({ quietMs: 900, maxMs: 1000 });
      expect(joined).toBe(first);
      const answer = await first;
      expect(answer.drained).toBe(true);
      expect(answer.waitedMs).toBeLessThan(500);
      expect(await drainer.start({ quietMs: 900 })).toBe(answer);
      expect(starts).toBe(1);
      expect(drainer.draining).toBe(true);
    } finally {
      drainer.stop();
    }
  });

  it('ends drain mode when the pod has not stopped by the end of the linger, and can drain again', async () => {
    const drainer = new Drainer(new Activity(), { quietMs: 10, maxMs: 50 }, 100, () => {});
    try {
      const answered = await drainer.start();
      const at = Date.now();
      expect(drainer.draining).toBe(true);
      await until(() => !drainer.draining, 2000);
      expect(Date.now() - at).toBeGreaterThanOrEqual(90);
      const next = await drainer.start();
      expect(next).not.toBe(answered);
    } finally {
      drainer.stop();
    }
  });

  it('stays in drain mode for good once SIGTERM drained (final)', async () => {
    const drainer = new Drainer(new Activity(), { quietMs: 10, maxMs: 50 }, 20, () => {});
    await drainer.start();
    await drainer.final();
    await new Promise((r) => setTimeout(r, 100)); // Past the linger: nothing may end drain mode now.
    expect(drainer.draining).toBe(true);
  });

  it('lingers past the drain maximum by a minute', () => {
    expect(lingerFor(30_000)).toBe(90_000);
  });
});
