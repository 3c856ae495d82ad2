import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withLock } from '../../cluster/lock.ts';
import { clearStartedByTests, markStartedByTests, register, unregister } from '../../cluster/sharing.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lull-share-'));
  dirs.push(d);
  return d;
}
const layout = { bridge: 'lull0' };

describe('sharing a running cluster between test runs', () => {
  it('lets the last live run stop a cluster tests started', async () => {
    const run = await tempDir();
    const other = spawn('sleep', ['30']);
    await register(layout, process.pid, run);
    await register(layout, other.pid!, run);
    await register(layout, 999_999_999, run); // died without leaving
    await markStartedByTests(layout, run);
    expect(await unregister(layout, process.pid, run)).toEqual({ last: false, startedByTests: true });
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
    expect(await unregister(layout, other.pid!, run)).toEqual({ last: true, startedByTests: true });
  });

  it('never stops a cluster a developer adopted', async () => {
    const run = await tempDir();
    await register(layout, process.pid, run);
    await markStartedByTests(layout, run);
    await clearStartedByTests(layout, run);
    expect(await unregister(layout, process.pid, run)).toEqual({ last: true, startedByTests: false });
  });
});

describe('withLock', () => {
  it('runs one holder at a time, the next waiting for the first', async () => {
    const lock = join(await tempDir(), 'x.lock');
    const order: string[] = [];
    let waited = false;
    const first = withLock(lock, 'x', async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 300));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    // Same pid: a real second holder is another process, so the owner check sees a live stranger.
    await writeFile(lock, '1\n');
    const second = withLock(lock, 'x', async () => order.push('second'), { onWait: () => (waited = true), waitMs: 100 });
    await expect(second).rejects.toThrow(/pid 1/);
    expect(waited).toBe(true);
    await first;
    expect(order).toEqual(['first in', 'first out']);
  });

  it('takes over a lock whose owner died', async () => {
    const lock = join(await tempDir(), 'y.lock');
    await writeFile(lock, '999999999\n');
    expect(await withLock(lock, 'y', async () => 'ran')).toBe('ran');
  });
});
