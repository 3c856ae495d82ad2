// Runs a host command to completion (ip, iptables, nft, sysctl helpers): the cluster's only way to
// touch the host besides the processes it spawns.
import { spawn } from 'node:child_process';

/** Root's tools live in sbin, which a sudo'ed or minimal PATH may lack; kube-proxy needs them too. */
export function withSbin(pathEnv = process.env.PATH ?? ''): string {
  const dirs = pathEnv.split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

/** The environment for everything the cluster runs. */
export function hostEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: withSbin(env.PATH) };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  readonly result: CommandResult;
  constructor(command: string, args: readonly string[], result: CommandResult) {
    super(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
    this.result = result;
  }
}

/** Runs and resolves with the outcome, whatever the exit code (a missing command reads as code 127). */
export function exec(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const input = options.input;
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: hostEnv(), timeout: options.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolvePromise({ code: 127, stdout, stderr: stderr + err.message }));
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A child that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** Runs and returns stdout; throws CommandError on a non-zero exit. */
export async function run(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await exec(command, args, options);
  if (result.code !== 0) throw new CommandError(command, args, result);
  return result.stdout;
}
