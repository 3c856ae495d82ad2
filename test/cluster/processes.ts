// Detached component processes: started in their own session with output to a log file, found
// again through pid files, and stopped with SIGTERM, a grace period, then SIGKILL.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Started {
  pid: number;
  /** Settles when the process exits while this process still watches it (the CLI exits long before). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function pidFilePath(pidsDir: string, name: string): string {
  return join(pidsDir, `${name}.pid`);
}

export function logFilePath(logsDir: string, name: string): string {
  return join(logsDir, `${name}.log`);
}

/** Starts `spec` detached (own session, survives us), logging to <logsDir>/<name>.log, and writes its pid file. */
export async function spawnDetached(spec: ProcessSpec, dirs: { pids: string; logs: string }): Promise<Started> {
  await mkdir(dirs.pids, { recursive: true });
  await mkdir(dirs.logs, { recursive: true });
  const logFd = openSync(logFilePath(dirs.logs, spec.name), 'w');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
      child.on('exit', (code, signal) => resolvePromise({ code, signal }));
      child.on('error', () => resolvePromise({ code: 127, signal: null }));
    });
    if (child.pid === undefined) {
      const { code } = await exited;
      throw new Error(`could not start ${spec.command} (exit ${code})`);
    }
    child.unref();
    await writeFile(pidFilePath(dirs.pids, spec.name), `${child.pid}\n`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(logFd);
  }
}

export async function readPid(pidsDir: string, name: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFilePath(pidsDir, name), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Names that have a pid file, whether or not their process still runs. */
export async function pidFileNames(pidsDir: string): Promise<string[]> {
  try {
    return (await readdir(pidsDir)).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -'.pid'.length));
  } catch {
    return [];
  }
}

/** `/proc/<pid>/stat` state letter; a zombie (Z) or a missing process counts as not running. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function isRunning(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The NUL-separated command line of `pid`, joined with spaces; empty when unreadable. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** A pid from a stale pid file may belong to an unrelated process by now: ours name the state dir in their arguments. */
export function isOurs(cmdline: string, stateDir: string): boolean {
  return cmdline.includes(stateDir.endsWith('/') ? stateDir : `${stateDir}/`);
}

/** The live process behind a pid file, if it is still ours. */
export async function runningPid(pidsDir: string, name: string, stateDir: string): Promise<number | undefined> {
  const pid = await readPid(pidsDir, name);
  if (pid === undefined || !isRunning(pid) || !isOurs(commandLine(pid), stateDir)) return undefined;
  return pid;
}

/** Live processes whose command line names `dir` (ours, even when their pid file is gone), except this one. */
export async function pidsMentioning(dir: string): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && isRunning(pid) && isOurs(commandLine(pid), dir));
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await sleep(50);
  }
  return !isRunning(pid);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

export type StopOutcome = 'not running' | 'stopped' | 'killed';

/** SIGTERM, up to `graceMs` to exit, then SIGKILL to it and its process group; removes the pid file. */
export async function stopProcess(pidsDir: string, name: string, stateDir: string, graceMs: number): Promise<StopOutcome> {
  const pid = await runningPid(pidsDir, name, stateDir);
  let outcome: StopOutcome = 'not running';
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    if (await waitForExit(pid, graceMs)) outcome = 'stopped';
    else {
      // Detached children lead their own session, so the group is theirs alone.
      signal(-pid, 'SIGKILL');
      signal(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
      outcome = 'killed';
    }
  }
  await rm(pidFilePath(pidsDir, name), { force: true });
  return outcome;
}
