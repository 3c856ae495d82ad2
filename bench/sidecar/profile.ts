// Where a process spent its CPU: self time per function from a V8 .cpuprofile (node --cpu-prof).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  ms: number;
  share: number;
}

/** Top `n` functions by self time in the one .cpuprofile under `dir`; paths shown relative to `root`. */
export function topSelfTime(dir: string, root: string, n = 10): SelfTime[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const names = new Map<number, string>();
  for (const { id, callFrame: f } of profile.nodes) {
    const where = f.url === '' ? '' : ` ${f.url.startsWith('file://') ? relative(root, new URL(f.url).pathname) : f.url}:${f.lineNumber + 1}`;
    names.set(id, `${f.functionName || '(anonymous)'}${where}`);
  }
  const selfUs = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const name = names.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    if (name.startsWith('(idle)')) continue; // Shares are of the time it was busy.
    total += dt;
    selfUs.set(name, (selfUs.get(name) ?? 0) + dt);
  }
  return [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ fn, ms: us / 1000, share: us / total }));
}
