// The pinned kubectl, run with the local cluster's kubeconfig; a failure is an error with its stderr.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export type Kubectl = (args: string[], input?: string) => Promise<string>;

export function kubectlRunner(binary: string, kubeconfig: string): Kubectl {
  return async (args, input) => {
    const child = spawn(binary, args, { env: { ...process.env, KUBECONFIG: kubeconfig } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    const [code] = (await once(child, 'close')) as [number];
    if (code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || `exit ${code}`}`);
    return stdout;
  };
}
