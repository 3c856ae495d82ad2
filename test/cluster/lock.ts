// One `lull cluster up|down` at a time on the host: a lock file holding the owner's pid, waited for
// while its owner lives, taken over when that owner is gone.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { isRunning } from './processes.ts';

export interface LockOptions {
  /** How long to wait for a live owner to finish (an up may build binaries for minutes). */
  waitMs?: number;
  /** Told once, with the owner's pid, when we have to wait. */
  onWait?: (ownerPid: number) => void;
}

export async function withLock<T>(lockFile: string, what: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 15 * 60_000);
  let told = false;
  for (;;) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
      if (Date.now() > deadline) throw lullError(clusterErrors.clusterBusy, owner, what);
      if (!told) options.onWait?.(owner);
      told = true;
      await sleep(200);
    } else {
      // The owner died without releasing it (or is between creating and writing the file: retry).
      await sleep(50);
      const again = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (again === owner) await rm(lockFile, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}
