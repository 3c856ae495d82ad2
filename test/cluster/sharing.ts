// Several test runs (and a developer) may share one running cluster. Each test run registers while
// it uses the cluster; one a test run started is stopped by the last run to leave, one a developer
// started (or adopted with `lull cluster up`) is never stopped by tests.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR } from './claim.ts';
import type { ClusterLayout } from './layout.ts';
import { isRunning } from './processes.ts';

export function sharingFiles(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR) {
  return { users: join(runDir, `${layout.bridge}.users`), startedByTests: join(runDir, `${layout.bridge}.started-by-tests`) };
}

export async function register(layout: Pick<ClusterLayout, 'bridge'>, pid = process.pid, runDir = RUN_DIR): Promise<void> {
  const { users } = sharingFiles(layout, runDir);
  await mkdir(users, { recursive: true });
  await writeFile(join(users, String(pid)), '');
}

/** Pids of the test runs using the cluster; forgets those that died. */
export async function liveUsers(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR): Promise<number[]> {
  const { users } = sharingFiles(layout, runDir);
  const live: number[] = [];
  for (const entry of await readdir(users).catch(() => [] as string[])) {
    if (isRunning(Number(entry))) live.push(Number(entry));
    else await rm(join(users, entry), { force: true });
  }
  return live;
}

/** Drops `pid`; `last` when no live user remains. */
export async function unregister(layout: Pick<ClusterLayout, 'bridge'>, pid = process.pid, runDir = RUN_DIR): Promise<{ last: boolean; startedByTests: boolean }> {
  const files = sharingFiles(layout, runDir);
  await rm(join(files.users, String(pid)), { force: true });
  return { last: (await liveUsers(layout, runDir)).length === 0, startedByTests: existsSync(files.startedByTests) };
}

export async function markStartedByTests(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR): Promise<void> {
  await mkdir(runDir, { recursive: true });
  await writeFile(sharingFiles(layout, runDir).startedByTests, '');
}

/** The cluster is someone's to keep (a developer ran `up`, or the last test run stops it now). */
export async function clearStartedByTests(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR): Promise<void> {
  await rm(sharingFiles(layout, runDir).startedByTests, { force: true });
}
