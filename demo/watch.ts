// Waiting on the API without polling: list, then watch from that version until `found` returns a
// value; and a plain watch for narrating what happens (a wake's timeline).
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';

export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Calls `onEvent` for each change from now on, until the returned stop is called; `onList` gets the
 * whole collection at the start and whenever the watch had to be re-established.
 */
export async function follow<T extends KubernetesObject>(kc: KubeConfig, client: KubeClient, path: string, selectors: Selectors, onEvent: (type: string, object: T) => void, onList?: (items: T[]) => void): Promise<() => void> {
  let stopped = false;
  let abort: AbortController | undefined;
  const start = async (): Promise<void> => {
    if (stopped) return;
    const list = await client.request<KubernetesListObject<T>>('GET', path, { query: { ...selectors } });
    if (stopped) return;
    onList?.(list.items);
    abort = await new Watch(kc).watch(path, { ...selectors, resourceVersion: list.metadata?.resourceVersion }, (type, object: T) => {
      if (!stopped) onEvent(type, object);
    }, (err: unknown) => void setTimeout(() => void start().catch(() => undefined), err ? 500 : 0));
  };
  await start();
  return () => {
    stopped = true;
    abort?.abort();
  };
}

/** Resolves with the first non-undefined `found(items)` over the collection's current items. */
export async function until<T extends KubernetesObject, R>(kc: KubeConfig, client: KubeClient, path: string, selectors: Selectors, found: (items: T[]) => R | undefined, timeoutMs: number, what: string): Promise<R> {
  const items = new Map<string, T>();
  const key = (o: T) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  let stop: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  try {
    return await new Promise<R>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${Math.round(timeoutMs / 1000)}s`)), timeoutMs);
      const check = () => {
        const result = settled ? undefined : found([...items.values()]);
        if (result === undefined) return;
        settled = true;
        resolve(result);
      };
      follow<T>(
        kc,
        client,
        path,
        selectors,
        (type, o) => {
          if (type === 'DELETED') items.delete(key(o));
          else if (type === 'ADDED' || type === 'MODIFIED') items.set(key(o), o);
          check();
        },
        (list) => {
          items.clear();
          for (const o of list) items.set(key(o), o);
          check();
        },
      )
        .then((stopFollowing) => {
          // Settled before the watch was set up: it is not needed any more.
          if (settled) stopFollowing();
          else stop = stopFollowing;
        })
        .catch(reject);
    });
  } finally {
    settled = true;
    clearTimeout(timer);
    stop?.();
  }
}
