// The bench's child processes: each in its own process group, so one kill reaches an nginx master
// and its workers; every one started is remembered and killed on exit, Ctrl-C or the time limit.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';

const CLK_TCK = 100;
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export interface Started {
  child: ChildProcess;
  pid: number;
  /** The last lines it wrote to stderr: what to show when it fails to start. */
  stderr: () => string;
}

/** Spawns `command`, under `taskset -c cpus` when given (taskset execs it, so the pid is the command's). */
export function start(command: string, args: string[], options: SpawnOptions & { cpus?: string } = {}): Started {
  const { cpus, ...spawnOptions } = options;
  const [file, argv] = cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...spawnOptions });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { child, pid: child.pid, stderr: () => tail };
}

export function rememberTempDir(dir: string): void {
  tempDirs.add(dir);
}

/** Kills every child's process group and removes the temp dirs; safe to call more than once. */
export function cleanUp(): void {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Resolves once `port` on loopback accepts a connection; rejects if `child` exits first or after `timeoutMs`. */
export async function waitForPort(port: number, started: Started, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${what} exited before listening on ${port}:\n${started.stderr()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms:\n${started.stderr()}`);
    await new Promise((r) => setTimeout(r, 50)); // Polling a port: there is no event to await.
  }
}

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User and system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number): { user: number; system: number } {
  const f = statFields(pid);
  return { user: Number(f[11]) / CLK_TCK, system: Number(f[12]) / CLK_TCK };
}

/** The process and its direct children (an nginx master and its workers). */
export function withChildren(pid: number): number[] {
  const pids = [pid];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Number(statFields(Number(name))[1]) === pid) pids.push(Number(name));
    } catch {
      // It exited while we looked.
    }
  }
  return pids;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Fails with a clear message if something else already listens on a port the bench needs. */
export async function assertPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (taken) throw new Error(`port ${port} is already in use on loopback; pick other ports with --port-base (queue-proxy's 8022 and 9090 are fixed)`);
  }
}
