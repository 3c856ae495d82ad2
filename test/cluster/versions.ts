// The pinned control-plane versions (scripts/versions.env is the one place they are set) and how to
// read the version a binary reports about itself.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { REPO_ROOT } from './layout.ts';

export const CONTROL_PLANE_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubectl', 'etcd'] as const;
export type BinaryName = (typeof CONTROL_PLANE_BINARIES)[number];

export interface PinnedVersions {
  kubernetes: string;
  etcd: string;
}

export const VERSIONS_FILE = resolve(REPO_ROOT, 'scripts/versions.env');

/** Reads KEY=value lines as the shell would for this simple file: comments and blank lines skipped, quotes dropped. */
export function parseVersionsEnv(text: string): PinnedVersions {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match === null) continue;
    values.set(match[1]!, match[2]!.replace(/\s+#.*$/, '').replace(/^(['"])(.*)\1$/, '$2').trim());
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || value === '') throw new Error(`${VERSIONS_FILE} does not set ${key}`);
    return value;
  };
  return { kubernetes: get('KUBERNETES_VERSION'), etcd: get('ETCD_VERSION') };
}

export async function readPinnedVersions(file = VERSIONS_FILE): Promise<PinnedVersions> {
  return parseVersionsEnv(await readFile(file, 'utf8'));
}

export function pinnedVersionOf(binary: BinaryName, pinned: PinnedVersions): string {
  return binary === 'etcd' ? pinned.etcd : pinned.kubernetes;
}

/** kubectl has no --version flag; the others print their version with it. */
export function versionArgs(binary: BinaryName): string[] {
  return binary === 'kubectl' ? ['version', '--client'] : ['--version'];
}

const VERSION_PATTERNS: Record<BinaryName, RegExp> = {
  'kube-apiserver': /^Kubernetes\s+(\S+)/m,
  'kube-controller-manager': /^Kubernetes\s+(\S+)/m,
  'kube-scheduler': /^Kubernetes\s+(\S+)/m,
  'kube-proxy': /^Kubernetes\s+(\S+)/m,
  kubectl: /^Client Version:\s*(\S+)/m,
  etcd: /^etcd Version:\s*(\S+)/m,
};

/** The version in a binary's own version output, with a leading `v`; undefined when it cannot be read. */
export function versionFromOutput(binary: BinaryName, output: string): string | undefined {
  const found = VERSION_PATTERNS[binary].exec(output)?.[1];
  if (found === undefined) return undefined;
  return found.startsWith('v') ? found : `v${found}`;
}

/** Same release: build metadata (`+...`) is allowed, a pre-release or vendor suffix (`-dispatcher`) is not. */
export function versionMatches(found: string, pinned: string): boolean {
  const strip = (v: string) => v.replace(/^v/, '');
  const f = strip(found);
  const p = strip(pinned);
  return f === p || f.startsWith(`${p}+`);
}
