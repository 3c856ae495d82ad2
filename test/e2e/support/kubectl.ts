// Commands for e2e tests and benchmarks: run one to completion, and the pinned kubectl on a kubeconfig.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../../..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs to completion whatever the exit code; stdin gets `input` (or is closed). */
export async function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Run> {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? REPO });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => {}); // a command that exits without reading its input
  child.stdin.end(options.input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? 1, stdout, stderr };
}

export interface Kubectl {
  /** stdout; a non-zero exit is an error carrying stderr. */
  (args: readonly string[], input?: string): Promise<string>;
  /** The outcome, whatever the exit code. */
  run(args: readonly string[], input?: string): Promise<Run>;
  /** `kubectl … -o json`, parsed. */
  json<T = any>(args: readonly string[]): Promise<T>;
  /** `kubectl apply` of objects. */
  apply(...objects: unknown[]): Promise<string>;
  readonly binary: string;
  readonly kubeconfig: string;
}

export function kubectlOf(binary: string, kubeconfig: string): Kubectl {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const runIt = async (args: readonly string[], input?: string) => {
    // Never the ambient KUBECONFIG's cluster: a test without its cluster must fail, not act elsewhere.
    if (!binary || !kubeconfig) throw new Error('no cluster: kubectl has no kubeconfig (the e2e global setup did not start the cluster)');
    return run(binary, ['--kubeconfig', kubeconfig, ...args], { env, ...(input !== undefined ? { input } : {}) });
  };
  const ok = async (args: readonly string[], input?: string) => {
    const r = await runIt(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  return Object.assign(ok, {
    run: runIt,
    json: async (args: readonly string[]) => JSON.parse(await ok([...args, '-o', 'json'])),
    apply: (...objects: unknown[]) => ok(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n')),
    binary,
    kubeconfig,
  });
}

/** The pinned kubectl (scripts/control-plane.sh builds it), for scripts that run outside vitest. */
export async function pinnedKubectl(): Promise<string> {
  const r = await run('bash', [resolve(REPO, 'scripts/control-plane.sh'), '--print-dir']);
  if (r.code !== 0) throw new Error(`scripts/control-plane.sh --print-dir failed: ${r.stderr}`);
  return resolve(r.stdout.trim().split('\n').pop()!, 'kubectl');
}
