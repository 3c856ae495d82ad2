// The Lull image's program on this cluster is the built artefact (dist/lull.mjs), as in the real image:
// rebuilt here when a source is newer, so pods never run stale code (scripts/build.ts decides; ~50 ms when fresh).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './layout.ts';

export const ARTEFACT = 'dist/lull.mjs';

export async function ensureArtefact(nodeBinary: string, progress: (line: string) => void): Promise<void> {
  const { stderr } = await promisify(execFile)(nodeBinary, [resolve(REPO_ROOT, 'scripts/build.ts')], { cwd: REPO_ROOT });
  if (stderr.trim() !== '') progress(stderr.trim());
}
