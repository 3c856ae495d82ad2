// A list+watch cache that keeps going: client-node's ListWatch resumes after a closed watch and
// relists on 410 Gone, and this restarts it after other errors, backing off.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../core/log.ts';

export interface Watched<T> {
  /** True once the first list has arrived. */
  readonly synced: boolean;
  list(): readonly T[];
  stop(): void;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Any add, update or delete; also once when the first list arrives. */
  onChange: () => void;
  log: Logger;
}

const MAX_BACKOFF_MS = 30_000;

export function watchObjects<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  options: WatchOptions,
): Watched<T> {
  const informer = new ListWatch<T>(path, new Watch(kc), list, false, options.labelSelector, options.fieldSelector);
  let synced = false;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    failures = 0;
    if (synced) options.onChange();
  };
  informer.on('add', changed);
  informer.on('update', changed);
  informer.on('delete', changed);
  let attempt = 0;
  const start = () => {
    const mine = ++attempt;
    // start() also resolves after a failed list (having reported the error): only a clean start syncs.
    informer.start().then(
      () => {
        if (stopped || mine !== attempt) return;
        failures = 0; // A clean (re)start: the next glitch starts its back-off afresh.
        if (synced) return;
        synced = true;
        options.onChange();
      },
      (err: unknown) => retry(err),
    );
  };
  const retry = (err: unknown) => {
    attempt++;
    if (stopped) return;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures++, 7));
    options.log.warn({ err: (err as Error)?.message ?? err, path, selector: options.labelSelector ?? options.fieldSelector, retryMs: delay }, 'watch failed; resuming');
    clearTimeout(timer);
    timer = setTimeout(start, delay);
  };
  informer.on('error', retry);
  start();
  return {
    get synced() {
      return synced;
    },
    list: () => informer.list(),
    stop() {
      stopped = true;
      clearTimeout(timer);
      void informer.stop();
    },
  };
}
