// How every CLI command ends: a Lull error prints as one line and sets the exit code; anything else is a bug and keeps its stack.
import { LullError } from '../core/errors.ts';
import { KubeApiError } from '../core/kube-client.ts';

export async function runCommand(command: string, body: () => Promise<number | void>): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 403) {
      process.stderr.write(`lull ${command}: ${err.message}\n  (your kubeconfig's user is not allowed this; kubectl auth can-i shows what it may do)\n`);
      return 1;
    }
    // undici's network failures: the cluster is down or the kubeconfig points elsewhere.
    if (err instanceof Error && (err.message === 'fetch failed' || err.name === 'TimeoutError')) {
      const cause = (err.cause as Error | undefined)?.message ?? err.message;
      process.stderr.write(`lull ${command}: cannot reach the Kubernetes API server: ${cause}\n`);
      return 1;
    }
    if (err instanceof LullError) {
      process.stderr.write(`lull ${command}: ${err.message}\n`);
      return err.code === 'LULL_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
