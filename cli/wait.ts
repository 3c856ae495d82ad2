// Waiting on a Deployment without polling: a read, then a watch from that version until the
// condition holds, re-established if the API server ends it.
import { Watch, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import type { KubeClient } from '../core/kube-client.ts';
import { formatDuration } from '../core/duration.ts';

export interface WaitOptions {
  /** What is awaited, for the timeout message: "wake up", "go to sleep". */
  what: string;
  timeoutMs: number;
  /** Why it may not have happened, for the timeout message. */
  hint: (last: V1Deployment | undefined) => string;
  /** Each version seen, e.g. for progress. */
  onChange?: (deployment: V1Deployment) => void;
}

export async function waitForDeployment(kc: KubeConfig, client: KubeClient, namespace: string, name: string, done: (d: V1Deployment) => boolean, options: WaitOptions): Promise<V1Deployment> {
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  let last: V1Deployment | undefined;
  let abort: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<V1Deployment>((resolve, reject) => {
      let settled = false;
      const see = (d: V1Deployment): boolean => {
        last = d;
        options.onChange?.(d);
        if (!done(d)) return false;
        settled = true;
        resolve(d);
        return true;
      };
      timer = setTimeout(() => {
        settled = true;
        reject(lullError(errors.cliTimeout, `deploy/${name}`, options.what, formatDuration(options.timeoutMs), options.hint(last)));
      }, options.timeoutMs);
      const start = async (): Promise<void> => {
        if (settled) return;
        const fresh = await client.request<V1Deployment>('GET', `${path}/${name}`);
        if (see(fresh) || settled) return;
        abort = await new Watch(kc).watch(
          path,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: fresh.metadata?.resourceVersion, allowWatchBookmarks: false },
          (type, object: V1Deployment) => {
            if (!settled && (type === 'ADDED' || type === 'MODIFIED')) see(object);
          },
          // The server closes watches every few minutes, or the version grew too old: read again and go on.
          (err: unknown) => void setTimeout(() => void start().catch(fail), err ? 500 : 0),
        );
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      start().catch(fail);
    });
  } finally {
    clearTimeout(timer);
    abort?.abort();
  }
}
