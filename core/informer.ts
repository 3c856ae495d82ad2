// The one Kubernetes cache, as client-go's reflector and indexer keep one: a paged list, then a watch with
// bookmarks that resumes from the last resourceVersion; 410 Gone lists again and reports what changed
// meanwhile; any other failure pauses (jittered, growing) and resumes. Objects may be trimmed on arrival.
import { setTimeout as delay } from 'node:timers/promises';
import { isStatus, type KubeClient, type WatchEvent } from './kube-client.ts';
import { createLogger, type Logger } from './log.ts';

export type Change = 'add' | 'update' | 'delete';

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T> {
  client: Pick<KubeClient, 'request' | 'watch'>;
  /** Collection path, e.g. /apis/apps/v1/deployments or /api/v1/namespaces/x/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What is kept of each object, so memory stays small; the object itself when absent. */
  transform?: (object: any) => T;
  /** A secondary index, e.g. pods by their Deployment (see `indexed`); undefined: not indexed. */
  indexBy?: (object: T) => string | undefined;
  /** Each change, including the adds of the first list. */
  onChange?: (change: Change, object: T) => void;
  onSynced?: () => void;
  /** Where failures are told (the CLI and the demo need not say). */
  logger?: Logger;
  /** Pause bounds after a failure. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  pageSize?: number;
}

export interface Informer<T> {
  readonly path: string;
  /** Resolves once a first full list is in the cache. */
  readonly synced: Promise<void>;
  hasSynced(): boolean;
  get(namespace: string, name: string): T | undefined;
  /** Every object, or those of one namespace ('' holds cluster-scoped objects). */
  list(namespace?: string): T[];
  /** Objects whose `indexBy` key is `key`. */
  indexed(key: string): Iterable<T>;
  /** Calls `handler` on each change from now on; returns the unsubscribe. */
  subscribe(handler: (change: Change, object: T) => void): () => void;
  start(): Informer<T>;
  stop(): void;
}

interface List {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Meta[];
}

class Gone extends Error {}

/** The server ends a watch after this long (times 1 to 2, so many watches do not restart together), as client-go. */
const WATCH_SECONDS = 300;
const keyOf = (o: Meta) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function informer<T>(options: InformerOptions<T>): Informer<T> {
  const { client, path } = options;
  const logger = options.logger ?? createLogger('informer', 'silent');
  const transform = options.transform ?? ((o: unknown) => o as T);
  const minBackoff = options.minBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
  const handlers = new Set<(change: Change, object: T) => void>();
  if (options.onChange) handlers.add(options.onChange);
  let store = new Map<string, Map<string, T>>();
  const index = new Map<string, Map<string, T>>();
  const indexOf = new Map<string, string>();
  let resourceVersion = '';
  let hasSynced = false;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  let lifetime: AbortController | undefined;

  const emit = (change: Change, object: T) => {
    for (const handler of handlers) handler(change, object);
  };

  function reindex(key: string, object: T | undefined): void {
    if (!options.indexBy) return;
    const previous = indexOf.get(key);
    const next = object === undefined ? undefined : options.indexBy(object);
    if (previous !== undefined && previous !== next) {
      const bucket = index.get(previous);
      bucket?.delete(key);
      if (bucket?.size === 0) index.delete(previous);
    }
    if (next === undefined) return void indexOf.delete(key);
    indexOf.set(key, next);
    let bucket = index.get(next);
    if (bucket === undefined) index.set(next, (bucket = new Map()));
    bucket.set(key, object!);
  }

  function namesIn(namespace: string): Map<string, T> {
    let names = store.get(namespace);
    if (names === undefined) store.set(namespace, (names = new Map()));
    return names;
  }

  function put(raw: Meta): void {
    const names = namesIn(raw.metadata?.namespace ?? '');
    const existed = names.has(raw.metadata?.name ?? '');
    const object = transform(raw);
    names.set(raw.metadata?.name ?? '', object);
    reindex(keyOf(raw), object);
    emit(existed ? 'update' : 'add', object);
  }

  function remove(raw: Meta): void {
    const names = store.get(raw.metadata?.namespace ?? '');
    const object = names?.get(raw.metadata?.name ?? '');
    if (object === undefined) return;
    names!.delete(raw.metadata?.name ?? '');
    if (names!.size === 0) store.delete(raw.metadata?.namespace ?? '');
    reindex(keyOf(raw), undefined);
    emit('delete', object);
  }

  /** Replaces the cache with a full list, reporting adds, updates (a new version) and deletes. */
  async function relist(): Promise<void> {
    // Trimmed page by page, so a large list is never held whole.
    const fresh: Array<{ namespace: string; name: string; version: string | undefined; object: T }> = [];
    let token: string | undefined;
    let version = '';
    do {
      const page = await client.request<List>('GET', path, { query: { ...selectors, limit: String(options.pageSize ?? 500), continue: token }, timeoutMs: 60_000 });
      for (const raw of page.items ?? []) fresh.push({ namespace: raw.metadata?.namespace ?? '', name: raw.metadata?.name ?? '', version: raw.metadata?.resourceVersion, object: transform(raw) });
      token = page.metadata?.continue || undefined;
      version = page.metadata?.resourceVersion ?? version;
    } while (token);
    const previous = store;
    store = new Map();
    for (const { namespace, name, version, object } of fresh) {
      const old = previous.get(namespace)?.get(name) as Meta | undefined;
      previous.get(namespace)?.delete(name);
      namesIn(namespace).set(name, object);
      reindex(`${namespace}/${name}`, object);
      if (old === undefined) emit('add', object);
      else if (version === undefined || old.metadata?.resourceVersion !== version) emit('update', object);
    }
    for (const [namespace, names] of previous) {
      for (const [name, object] of names) {
        reindex(`${namespace}/${name}`, undefined);
        emit('delete', object);
      }
    }
    resourceVersion = version;
    if (!hasSynced) {
      hasSynced = true;
      markSynced();
      options.onSynced?.();
    }
  }

  /** One watch from `resourceVersion`, until the server ends it (resolves) or it fails (rejects). */
  async function watch(signal: AbortSignal): Promise<number> {
    let events = 0;
    const seconds = Math.round(WATCH_SECONDS * (1 + Math.random()));
    const query = { ...selectors, resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(seconds) };
    // A connection that silently died is given up a little after the server would have ended it.
    const bounded = AbortSignal.any([signal, AbortSignal.timeout((seconds + 30) * 1000)]);
    await client.watch(path, query, (event: WatchEvent) => {
      if (event.type === 'ERROR') {
        if (event.object?.code === 410) throw new Gone(event.object?.message ?? 'Gone');
        throw new Error(`watch error ${event.object?.code ?? ''} ${event.object?.reason ?? ''}: ${event.object?.message ?? JSON.stringify(event.object)}`);
      }
      events++;
      if (event.type === 'ADDED' || event.type === 'MODIFIED') put(event.object);
      else if (event.type === 'DELETED') remove(event.object);
      resourceVersion = event.object?.metadata?.resourceVersion ?? resourceVersion;
    }, bounded);
    return events;
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!resourceVersion) await relist();
        if (signal.aborted) return;
        const startedAt = Date.now();
        const events = await watch(signal);
        // A watch that ends at once with nothing in it (a proxy cutting it) is not retried in a tight loop.
        if (events > 0 || Date.now() - startedAt > 1000) failures = 0;
        else await delay(1000, undefined, { signal, ref: false }).catch(() => undefined);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Gone || isStatus(err, 410)) {
          logger.debug({ path }, 'watch too old (410 Gone); listing again');
          resourceVersion = '';
          continue;
        }
        if ((err as Error)?.name === 'TimeoutError') continue;
        failures++;
        const backoff = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 10));
        const retryMs = Math.round(backoff * (0.8 + Math.random() * 0.4));
        logger.warn({ path, selector: options.labelSelector ?? options.fieldSelector, err: (err as Error)?.message ?? String(err), retryMs }, 'list or watch failed; resuming');
        await delay(retryMs, undefined, { signal, ref: false }).catch(() => undefined);
      }
    }
  }

  const self: Informer<T> = {
    path,
    synced,
    hasSynced: () => hasSynced,
    get: (namespace, name) => store.get(namespace)?.get(name),
    list(namespace) {
      if (namespace !== undefined) return [...(store.get(namespace)?.values() ?? [])];
      const all: T[] = [];
      for (const names of store.values()) for (const object of names.values()) all.push(object);
      return all;
    },
    *indexed(key) {
      const bucket = index.get(key);
      if (bucket) yield* bucket.values();
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    start() {
      if (lifetime === undefined || lifetime.signal.aborted) {
        lifetime = new AbortController();
        void run(lifetime.signal);
      }
      return self;
    },
    stop() {
      lifetime?.abort();
    },
  };
  return self;
}
