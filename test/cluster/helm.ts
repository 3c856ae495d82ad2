// Finds the pinned helm (HELM, then the build cache) and builds it with scripts/build-tools.sh when
// asked to; the chart tests and the Helm e2e test use only this.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run } from './exec.ts';
import { REPO_ROOT } from './layout.ts';
import { VERSIONS_FILE } from './versions.ts';

export const TOOLS_SCRIPT = resolve(REPO_ROOT, 'scripts/build-tools.sh');

/** Pure: HELM_VERSION from scripts/versions.env's text. */
export function pinnedHelmVersion(text: string): string {
  const match = /^HELM_VERSION=(\S+)/m.exec(text);
  if (match === null) throw new Error(`${VERSIONS_FILE} does not set HELM_VERSION`);
  return match[1]!;
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export interface HelmSearch {
  path?: string;
  version: string;
  /** Where it looked, for the skip or error message. */
  looked: string;
}

/** HELM=/path/to/helm, else the cache the build script fills; never builds. */
export async function findHelm(env: NodeJS.ProcessEnv = process.env): Promise<HelmSearch> {
  const version = pinnedHelmVersion(await readFile(VERSIONS_FILE, 'utf8'));
  if (env.HELM) return { path: env.HELM, version, looked: `HELM=${env.HELM}` };
  const dir = (await run('bash', [TOOLS_SCRIPT, '--print-dir'])).trim();
  const path = join(dir, 'helm');
  return (await executable(path)) ? { path, version, looked: path } : { version, looked: `${path} (build it: bash scripts/build-tools.sh)` };
}

/** The pinned helm, built first when missing (minutes, once). */
export async function ensureHelm(): Promise<string> {
  const found = await findHelm();
  if (found.path !== undefined) return found.path;
  await new Promise<void>((done, fail) => {
    const child = spawn('bash', [TOOLS_SCRIPT], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${TOOLS_SCRIPT} failed (exit ${code}); its output is above`))));
  });
  const built = await findHelm();
  if (built.path === undefined) throw new Error(`${TOOLS_SCRIPT} left no helm: ${built.looked}`);
  return built.path;
}
