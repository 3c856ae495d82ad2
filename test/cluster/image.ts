// The Lull image on the local cluster: built by scripts/build-image.sh (cached by its inputs) and
// registered under its reference in the cluster's image store, so `kubectl apply -k deploy/` runs the
// very image users pull. Without the image tools the kubelet keeps running dist/lull.mjs on the host.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { hostEnv } from './exec.ts';
import { mkdir, rm } from 'node:fs/promises';
import { REPO_ROOT, type ClusterLayout } from './layout.ts';

const BUILD_SCRIPT = resolve(REPO_ROOT, 'scripts/build-image.sh');
const TOOLS = ['mmdebstrap', 'umoci', 'skopeo'];

/** The cluster's OCI layout of images, searched by the kubelet (test/cluster/kubelet/image-store.ts). */
export function imageStore(layout: ClusterLayout): string {
  return join(layout.stateDir, 'images');
}

/** Unpacked layers, content-addressed, so shared by every checkout's cluster. */
export function layerCache(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.LULL_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lull'), 'layers');
}

/** Pure: `oci:<dir>:<reference>` as the build script prints it. */
export function parseOciReference(line: string): { layout: string; reference: string } | undefined {
  const m = /^oci:([^:]+):(.+)$/.exec(line.trim());
  return m ? { layout: m[1]!, reference: m[2]! } : undefined;
}

async function missingTools(): Promise<string[]> {
  const run = promisify(execFile);
  const missing: string[] = [];
  for (const tool of TOOLS) await run('sh', ['-c', `command -v ${tool}`], { env: hostEnv() }).catch(() => missing.push(tool));
  return missing;
}

/**
 * Builds the image (a no-op when its inputs are unchanged) and registers it in the store.
 * Returns the reference, or undefined when the image tools are missing (then said in progress).
 */
export async function ensureImage(layout: ClusterLayout, progress: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const missing = await missingTools();
  if (missing.length > 0) {
    progress(`the Lull image is not built (${missing.join(', ')} missing; scripts/install-deps.sh installs them): pods of it run dist/lull.mjs on the host`);
    // An image registered earlier would be older than this checkout's code.
    await rm(imageStore(layout), { recursive: true, force: true });
    return undefined;
  }
  const run = promisify(execFile);
  const started = performance.now();
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run('bash', [BUILD_SCRIPT], { cwd: REPO_ROOT, env: hostEnv(env), maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    // CI must run the image; a developer offline still gets a cluster, told why it runs the checkout.
    const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
    const why = `scripts/build-image.sh failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').slice(-5).join('\n')}`;
    if (ci) throw new Error(why);
    progress(`${why}\npods of the Lull image run dist/lull.mjs on the host`);
    await rm(imageStore(layout), { recursive: true, force: true });
    return undefined;
  }
  const built = parseOciReference(stdout.trim().split('\n').at(-1) ?? '');
  if (built === undefined) throw new Error(`scripts/build-image.sh printed no oci: reference:\n${stdout}\n${stderr}`);
  // skopeo copies only the blobs the store lacks and moves the reference to this build.
  await mkdir(imageStore(layout), { recursive: true });
  await run('skopeo', ['copy', '--quiet', `oci:${built.layout}:${built.reference}`, `oci:${imageStore(layout)}:${built.reference}`], { env: hostEnv(env) });
  const cached = stderr.includes('cached:');
  progress(`image ${built.reference} ${cached ? 'up to date' : 'built'} and in the cluster's store (${((performance.now() - started) / 1000).toFixed(1)}s)`);
  return built.reference;
}
