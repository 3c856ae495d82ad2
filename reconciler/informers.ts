// List+watch caches on client-node's ListWatch: objects are trimmed as they arrive, watches ask for
// bookmarks, and every failure (apiserver down, list refused) resumes with backoff from the last
// resourceVersion; a 410 Gone relists, and the relist reports what was deleted meanwhile.
import { KubeConfig, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';

export type Change = 'add' | 'update' | 'delete';

/** What a cached object must have: the trimmed objects of objects.ts. */
export interface Cached {
  metadata: { name: string; namespace?: string; resourceVersion: string };
}

export interface InformerOptions<T extends Cached> {
  client: KubeClient;
  /** Collection path, e.g. /apis/apps/v1/deployments. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  trim: (raw: any) => T;
  /** Secondary index, e.g. pods by their Deployment; undefined: not indexed. */
  indexBy?: (object: T) => string | undefined;
  onChange?: (change: Change, object: T) => void;
  onSynced?: () => void;
  logger: Logger;
  /** Backoff bounds after a failure. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface Informer<T extends Cached> {
  readonly path: string;
  /** A first list has been applied. */
  synced(): boolean;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** Objects whose index key is `key`. */
  indexed(key: string): Iterable<T>;
  start(): void;
  stop(): void;
}

const PAGE = 500;

interface List<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
  _trimmed?: T[];
}

const objectKey = (o: Cached) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function informer<T extends Cached>(options: InformerOptions<T>): Informer<T> {
  const { client, path, trim, logger } = options;
  const minBackoff = options.minBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  let synced = false;
  let stopped = true;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const index = new Map<string, Map<string, T>>();
  const indexOf = new Map<string, string>();

  // Every object passes through here (list items and watch events), so the cache holds only trimmed ones.
  class TrimmingWatch extends Watch {
    override watch(watchPath: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, object: any, raw?: any) => void, done: (err: any) => void): Promise<AbortController> {
      // Reaching here means a list (if one was needed) has been applied.
      if (!synced && !stopped) {
        synced = true;
        options.onSynced?.();
      }
      return super.watch(watchPath, { ...query, allowWatchBookmarks: true }, (phase, object, raw) => {
        failures = 0;
        callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? trim(object) : object, raw);
      }, done);
    }
  }

  const selectors = {
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
  };
  async function listAll(): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await client.request<List<T>>('GET', path, { query: { ...selectors, limit: String(PAGE), continue: token }, timeoutMs: 60_000 });
      for (const item of page.items ?? []) items.push(trim(item));
      token = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (token);
    failures = 0;
    return { metadata: { resourceVersion }, items };
  }

  // The KubeConfig is only used by Watch for the server address and credentials.
  // ListWatch only reads metadata name, namespace and resourceVersion, which every trimmed object keeps.
  const lw = new ListWatch<any>(path, new TrimmingWatch(client.config as KubeConfig), listAll, false, options.labelSelector, options.fieldSelector) as unknown as ListWatch<any> & {
    get(name: string, namespace?: string): T | undefined;
    list(namespace?: string): readonly T[];
  };

  function unindex(key: string): void {
    const previous = indexOf.get(key);
    if (previous === undefined) return;
    indexOf.delete(key);
    const bucket = index.get(previous);
    bucket?.delete(key);
    if (bucket?.size === 0) index.delete(previous);
  }
  function reindex(object: T): void {
    if (!options.indexBy) return;
    const key = objectKey(object);
    unindex(key);
    const to = options.indexBy(object);
    if (to === undefined) return;
    indexOf.set(key, to);
    let bucket = index.get(to);
    if (bucket === undefined) index.set(to, (bucket = new Map()));
    bucket.set(key, object);
  }

  lw.on('add', (o) => {
    reindex(o);
    options.onChange?.('add', o);
  });
  lw.on('update', (o) => {
    reindex(o);
    options.onChange?.('update', o);
  });
  lw.on('delete', (o) => {
    if (options.indexBy) unindex(objectKey(o));
    options.onChange?.('delete', o);
  });
  lw.on('error', (err) => {
    if (stopped) return;
    failures++;
    const delay = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 10));
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    logger.warn({ path, err: (err as Error)?.message ?? String(err), retryMs: jittered }, 'list or watch failed; resuming');
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void lw.start();
    }, jittered);
    timer.unref();
  });

  return {
    path,
    synced: () => synced,
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    *indexed(key) {
      const bucket = index.get(key);
      if (bucket) yield* bucket.values();
    },
    start() {
      if (!stopped) return;
      stopped = false;
      void lw.start();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      void lw.stop();
    },
  };
}
