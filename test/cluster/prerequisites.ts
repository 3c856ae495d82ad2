// What the host must offer before the cluster can run: Linux, root, and the network tools.
import { lullError, type LullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { findBinaries, goAvailable, whichOnPath } from './binaries.ts';
import { withSbin } from './exec.ts';

export interface Problem {
  what: string;
  why: string;
}

/** kube-proxy (iptables mode) shells out to the iptables trio; we use ip and iptables ourselves. */
export const HOST_TOOLS: ReadonlyArray<{ command: string; debianPackage: string }> = [
  { command: 'ip', debianPackage: 'iproute2' },
  { command: 'iptables', debianPackage: 'iptables' },
  { command: 'iptables-save', debianPackage: 'iptables' },
  { command: 'iptables-restore', debianPackage: 'iptables' },
];

export function platformProblems(platform: string = process.platform, uid: number | undefined = process.getuid?.()): Problem[] {
  if (platform !== 'linux') return [{ what: 'Linux', why: `it runs pods in network namespaces on a bridge; this is ${platform}` }];
  if (uid !== 0) return [{ what: 'root', why: 'it creates a bridge, network namespaces and iptables rules; run it with sudo' }];
  return [];
}

export async function toolProblems(pathEnv = process.env.PATH ?? ''): Promise<Problem[]> {
  const path = withSbin(pathEnv);
  const missing = [];
  for (const tool of HOST_TOOLS) if ((await whichOnPath(tool.command, path)) === undefined) missing.push(tool);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((t) => t.debianPackage))];
  return [{ what: missing.map((t) => t.command).join(', '), why: `install them (Debian: apt-get install ${packages.join(' ')})` }];
}

/** Host problems, then tools, then binaries (found, or Go to build them). */
export async function prerequisiteProblems(): Promise<Problem[]> {
  const platform = platformProblems();
  if (platform.length > 0) return platform;
  const problems = await toolProblems();
  const search = await findBinaries();
  if (search.found === undefined && !(await goAvailable())) {
    problems.push({ what: 'the pinned control-plane binaries or Go to build them', why: search.refused.join('; ') });
  }
  return problems;
}

export function problemError(problem: Problem): LullError {
  return lullError(clusterErrors.clusterPrerequisite, problem.what, problem.why);
}

export async function assertHost(): Promise<void> {
  const [problem] = [...platformProblems(), ...(await toolProblems())];
  if (problem !== undefined) throw problemError(problem);
}
