import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOurs, isRunning, pidsMentioning, readPid, runningPid, spawnDetached, stopProcess } from '../../cluster/processes.ts';

describe('isOurs', () => {
  it('recognises a command line that names the state dir', () => {
    expect(isOurs('/bin/etcd --data-dir=/work/.lull/cluster/etcd', '/work/.lull/cluster')).toBe(true);
    expect(isOurs('/bin/etcd --data-dir=/work/.lull/cluster2/etcd', '/work/.lull/cluster')).toBe(false);
    expect(isOurs('/usr/sbin/sshd -D', '/work/.lull/cluster')).toBe(false);
  });
});

describe('detached processes', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function setup() {
    const state = await mkdtemp(join(tmpdir(), 'lull-proc-'));
    dirs.push(state);
    return { state, pids: join(state, 'pids'), logs: join(state, 'logs') };
  }

  it('starts with a pid file and a log, and stops on SIGTERM', async () => {
    const d = await setup();
    const started = await spawnDetached({ name: 'sleeper', command: process.execPath, args: ['-e', "console.log('hello'); setTimeout(() => {}, 30_000)", `${d.state}/marker`] }, d);
    expect(await readPid(d.pids, 'sleeper')).toBe(started.pid);
    await expect.poll(() => readFile(join(d.logs, 'sleeper.log'), 'utf8'), { timeout: 10_000 }).toBe('hello\n');
    expect(await runningPid(d.pids, 'sleeper', d.state)).toBe(started.pid);
    expect(await pidsMentioning(d.state)).toContain(started.pid);
    expect(await stopProcess(d.pids, 'sleeper', d.state, 5_000)).toBe('stopped');
    expect(isRunning(started.pid)).toBe(false);
    expect(await readPid(d.pids, 'sleeper')).toBeUndefined();
  });

  it('kills what ignores SIGTERM after the grace period, with its children', async () => {
    const d = await setup();
    const started = await spawnDetached({ name: 'stubborn', command: 'sh', args: ['-c', 'trap "" TERM; sleep 30 & wait; wait', `${d.state}/marker`] }, d);
    await new Promise((r) => setTimeout(r, 200));
    expect(await stopProcess(d.pids, 'stubborn', d.state, 300)).toBe('killed');
    expect(isRunning(started.pid)).toBe(false);
  });

  it('ignores a pid file whose process is not ours', async () => {
    const d = await setup();
    const started = await spawnDetached({ name: 'other', command: 'sleep', args: ['30'] }, d);
    expect(await runningPid(d.pids, 'other', d.state)).toBeUndefined();
    expect(await stopProcess(d.pids, 'other', d.state, 100)).toBe('not running');
    process.kill(started.pid, 'SIGKILL');
  });
});
