// Waiting on a Deployment without polling: a cache of that one Deployment, looked at once listed and at
// each change until the condition holds (core/wait-for.ts).
import type { V1Deployment } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import type { KubeClient } from '../core/kube-client.ts';
import { formatDuration } from '../core/duration.ts';
import { watchUntil } from '../core/wait-for.ts';

export interface WaitOptions {
  /** What is awaited, for the timeout message: "wake up", "go to sleep". */
  what: string;
  timeoutMs: number;
  /** Why it may not have happened, for the timeout message. */
  hint: (last: V1Deployment | undefined) => string;
  /** Each version seen, e.g. for progress. */
  onChange?: (deployment: V1Deployment) => void;
}

export async function waitForDeployment(client: KubeClient, namespace: string, name: string, done: (d: V1Deployment) => boolean, options: WaitOptions): Promise<V1Deployment> {
  let last: V1Deployment | undefined;
  return watchUntil<V1Deployment, V1Deployment>(
    {
      client,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      fieldSelector: `metadata.name=${name}`,
      onChange: (change, d) => {
        if (change === 'delete') return;
        last = d;
        options.onChange?.(d);
      },
    },
    (cache) => {
      const d = cache.get(namespace, name);
      return d !== undefined && done(d) ? d : undefined;
    },
    options.timeoutMs,
    () => lullError(errors.cliTimeout, `deploy/${name}`, options.what, formatDuration(options.timeoutMs), options.hint(last)),
  );
}
