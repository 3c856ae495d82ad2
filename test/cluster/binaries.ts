// Finds the pinned control-plane binaries (KUBEBUILDER_ASSETS, then PATH, then the build cache) and
// builds them with scripts/control-plane.sh when none of those has them.
import { spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { exec, run } from './exec.ts';
import { REPO_ROOT } from './layout.ts';
import {
  CONTROL_PLANE_BINARIES,
  pinnedVersionOf,
  readPinnedVersions,
  versionArgs,
  versionFromOutput,
  versionMatches,
  type BinaryName,
  type PinnedVersions,
} from './versions.ts';

export type BinarySource = 'KUBEBUILDER_ASSETS' | 'PATH' | 'cache' | 'built';

export interface Binaries {
  source: BinarySource;
  paths: Record<BinaryName, string>;
  versions: PinnedVersions;
}

export interface Search {
  found?: Binaries;
  /** Why each source that was looked at was not used, for the error a user reads. */
  refused: string[];
}

export const BUILD_SCRIPT = resolve(REPO_ROOT, 'scripts/control-plane.sh');

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on a PATH string, as a shell would pick it. */
export async function whichOnPath(name: string, pathEnv = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of pathEnv.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export async function binaryVersion(binary: BinaryName, path: string): Promise<string | undefined> {
  const result = await exec(path, versionArgs(binary), { timeoutMs: 15_000 });
  return versionFromOutput(binary, result.stdout + result.stderr);
}

async function allIn(dir: string): Promise<{ paths?: Record<BinaryName, string>; missing: BinaryName[] }> {
  const entries = await Promise.all(CONTROL_PLANE_BINARIES.map(async (b) => [b, join(dir, b), await isExecutable(join(dir, b))] as const));
  const missing = entries.filter(([, , ok]) => !ok).map(([b]) => b);
  if (missing.length > 0) return { missing };
  return { paths: Object.fromEntries(entries.map(([b, p]) => [b, p])) as Record<BinaryName, string>, missing };
}

/** Mismatched versions, as "kubectl is v1.32.4, not v1.36.3" lines; empty when all match. */
async function versionMismatches(paths: Record<BinaryName, string>, pinned: PinnedVersions): Promise<string[]> {
  const checks = await Promise.all(
    CONTROL_PLANE_BINARIES.map(async (b) => {
      const want = pinnedVersionOf(b, pinned);
      const got = await binaryVersion(b, paths[b]);
      return got !== undefined && versionMatches(got, want) ? undefined : `${paths[b]} is ${got ?? 'of unknown version'}, not ${want}`;
    }),
  );
  return checks.filter((c): c is string => c !== undefined);
}

/** The cache directory for the pinned versions, as the build script names it. */
export async function cacheDir(): Promise<string> {
  return (await run('bash', [BUILD_SCRIPT, '--print-dir'])).trim();
}

/** Looks in KUBEBUILDER_ASSETS, PATH and the cache, in that order; never builds. */
export async function findBinaries(env: NodeJS.ProcessEnv = process.env): Promise<Search> {
  const versions = await readPinnedVersions();
  const refused: string[] = [];

  const assets = env.KUBEBUILDER_ASSETS;
  if (assets !== undefined && assets !== '') {
    const { paths, missing } = await allIn(assets);
    if (paths === undefined) refused.push(`KUBEBUILDER_ASSETS=${assets} lacks ${missing.join(', ')}`);
    else {
      const wrong = await versionMismatches(paths, versions);
      if (wrong.length === 0) return { found: { source: 'KUBEBUILDER_ASSETS', paths, versions }, refused };
      refused.push(`KUBEBUILDER_ASSETS: ${wrong.join('; ')}`);
    }
  }

  const onPath = await Promise.all(CONTROL_PLANE_BINARIES.map(async (b) => [b, await whichOnPath(b, env.PATH)] as const));
  const missingOnPath = onPath.filter(([, p]) => p === undefined).map(([b]) => b);
  if (missingOnPath.length > 0) refused.push(`PATH lacks ${missingOnPath.join(', ')}`);
  else {
    const paths = Object.fromEntries(onPath) as Record<BinaryName, string>;
    const wrong = await versionMismatches(paths, versions);
    if (wrong.length === 0) return { found: { source: 'PATH', paths, versions }, refused };
    refused.push(`PATH: ${wrong.join('; ')}`);
  }

  // The cache directory is named after the pinned versions, so what is in it matches by construction.
  const cache = await cacheDir();
  const { paths, missing } = await allIn(cache);
  if (paths !== undefined) return { found: { source: 'cache', paths, versions }, refused };
  refused.push(existsSync(cache) ? `${cache} lacks ${missing.join(', ')}` : `${cache} does not exist yet`);
  return { refused };
}

export async function goAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await whichOnPath('go', env.PATH)) !== undefined;
}

/** Runs the build script with its progress on our stderr; resolves with the directory it printed. */
function build(): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && dir !== '') resolvePromise(dir);
      else reject(lullError(clusterErrors.clusterPrerequisite, 'the control-plane binaries', `${BUILD_SCRIPT} failed (exit ${code}); its output is above`));
    });
  });
}

/** Found binaries, or freshly built ones; a clear error when neither is possible. */
export async function ensureBinaries(options: { build?: boolean; onBuild?: (why: string) => void } = {}): Promise<Binaries> {
  const search = await findBinaries();
  if (search.found !== undefined) return search.found;
  const why = search.refused.join('; ');
  if (options.build === false) throw lullError(clusterErrors.clusterPrerequisite, 'the pinned control-plane binaries', why);
  if (!(await goAvailable())) {
    throw lullError(clusterErrors.clusterPrerequisite, 'the pinned control-plane binaries or Go to build them', `${why}; and no \`go\` on PATH`);
  }
  options.onBuild?.(why);
  const dir = await build();
  const { paths, missing } = await allIn(dir);
  if (paths === undefined) throw lullError(clusterErrors.clusterPrerequisite, 'the control-plane binaries', `the build left ${missing.join(', ')} missing in ${dir}`);
  return { source: 'built', paths, versions: await readPinnedVersions() };
}

/** The Node 24 that runs the process kubelet: the pinned one in node_modules, else the running one. */
export function node24Binary(): string {
  const pinned = resolve(REPO_ROOT, 'node_modules/node/bin/node');
  return existsSync(pinned) ? pinned : process.execPath;
}
