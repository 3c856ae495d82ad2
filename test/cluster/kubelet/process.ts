// A container is a host process in the pod's network namespace, in a process group of its own so
// everything it starts is stopped with it.
import { spawn } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BindMount {
  source: string;
  target: string;
}

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  netns: string;
  mounts: BindMount[];
  logFile: string;
  /** The whole host command line, when it is not argv run in the netns (a container of a stored image). */
  commandLine?: string[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ContainerProcess {
  pid: number;
  exited: Promise<Exit>;
  signal(sig: NodeJS.Signals): void;
}

// `ip netns exec` already gives the process a private mount namespace: bind mounts made there stay there.
const MOUNT_SCRIPT = 'while [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 126; shift 2; done; shift; exec "$@"';

export function commandLine(spec: Pick<ProcessSpec, 'argv' | 'netns' | 'mounts' | 'commandLine'>): string[] {
  if (spec.commandLine !== undefined) return spec.commandLine;
  if (spec.mounts.length === 0) return ['ip', 'netns', 'exec', spec.netns, ...spec.argv];
  const pairs = spec.mounts.flatMap((m) => [m.source, m.target]);
  return ['ip', 'netns', 'exec', spec.netns, 'sh', '-c', MOUNT_SCRIPT, 'lull-container', ...pairs, '--', ...spec.argv];
}

export function startProcess(spec: ProcessSpec): Promise<ContainerProcess> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  const [program, ...args] = commandLine(spec);
  return new Promise((resolve, reject) => {
    const child = spawn(program!, args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    child.once('error', reject);
    child.once('spawn', () => {
      const pid = child.pid!;
      const exited = new Promise<Exit>((done) => child.once('exit', (code, signal) => done({ code, signal })));
      resolve({
        pid,
        exited,
        signal(sig) {
          try { process.kill(-pid, sig); } catch { /* the group is gone already */ }
        },
      });
    });
  });
}
