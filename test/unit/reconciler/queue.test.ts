import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../reconciler/queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('collapses repeated adds, and never works on one key twice at once', async () => {
    const runs: string[] = [];
    let concurrent = 0;
    let maxConcurrentA = 0;
    const gate = deferred();
    const q = new WorkQueue({
      workers: 4,
      work: async (key) => {
        runs.push(key);
        if (key === 'a') {
          concurrent++;
          maxConcurrentA = Math.max(maxConcurrentA, concurrent);
          await gate.promise;
          concurrent--;
        }
      },
      onError: () => {},
    });
    q.start();
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('a');
    await expect.poll(() => runs).toContain('a');
    // Added while running: runs once more afterwards, not alongside.
    q.add('a');
    q.add('a');
    gate.resolve();
    await q.idle();
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    expect(maxConcurrentA).toBe(1);
  });

  it('retries a failing key with backoff until it succeeds', async () => {
    let attempts = 0;
    const errors: number[] = [];
    const done = deferred();
    const q = new WorkQueue({
      workers: 1,
      minRetryMs: 10,
      work: async () => {
        if (++attempts < 3) throw new Error('conflict');
        done.resolve();
      },
      onError: (_k, _e, retryMs) => errors.push(retryMs),
    });
    q.start();
    q.add('x');
    await done.promise;
    expect(errors).toEqual([10, 20]);
  });

  it('runs at most `workers` keys at once and drops everything on stop', async () => {
    let running = 0;
    let peak = 0;
    const q = new WorkQueue({
      workers: 2,
      work: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
      },
      onError: () => {},
    });
    q.start();
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await q.idle();
    expect(peak).toBe(2);
    expect(q.processed).toBe(20);
    q.stop();
    q.add('late');
    expect(q.depth).toBe(0);
  });
});
