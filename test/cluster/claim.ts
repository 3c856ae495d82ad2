// The bridge, its addresses and the ports belong to the whole host, not to one state dir: a claim in
// /run says which state dir's cluster holds them, and a host-wide lock serialises up and down.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterLayout } from './layout.ts';

/** /run is cleared on reboot, like the bridge and the processes a claim speaks for. */
export const RUN_DIR = '/run/lull';

export function claimFiles(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR) {
  return { lock: join(runDir, `${layout.bridge}.lock`), owner: join(runDir, `${layout.bridge}.owner`) };
}

/** The state dir whose cluster holds the host's cluster network, if any. */
export async function claimOwner(layout: Pick<ClusterLayout, 'bridge'>, runDir = RUN_DIR): Promise<string | undefined> {
  const text = await readFile(claimFiles(layout, runDir).owner, 'utf8').catch(() => '');
  return text.trim() || undefined;
}

export async function claim(layout: Pick<ClusterLayout, 'bridge' | 'stateDir'>, runDir = RUN_DIR): Promise<void> {
  await mkdir(runDir, { recursive: true });
  await writeFile(claimFiles(layout, runDir).owner, `${layout.stateDir}\n`);
}

/** Drops the claim if it is ours; another state dir's claim stays. */
export async function release(layout: Pick<ClusterLayout, 'bridge' | 'stateDir'>, runDir = RUN_DIR): Promise<void> {
  if ((await claimOwner(layout, runDir)) === layout.stateDir) await rm(claimFiles(layout, runDir).owner, { force: true });
}
