// A small list+watch cache: keeps a trimmed summary per object, resumes after errors, relists on 410 Gone.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';

/** Streams the watch events of `path` until `done` is called with the reason it ended. */
export type WatchFn = (path: string, query: Record<string, string>, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void) => Promise<AbortController>;

/** Watches with a KubeConfig's credentials (client-node's Watch: line-delimited JSON, an idle timeout). */
export function kubeWatch(kc: KubeConfig): WatchFn {
  const watcher = new Watch(kc);
  return (path, query, onEvent, done) => watcher.watch(path, query, (type, object) => onEvent(type, object), done);
}

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

interface List<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export interface InformerOptions<T, S> {
  client: Pick<KubeClient, 'request'>;
  watch: WatchFn;
  /** Collection path, e.g. /apis/apps/v1/deployments. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What is kept of each object: only what the webhook reads, so memory stays small. */
  summarize: (object: T) => S;
  logger: Logger;
  onSynced?: () => void;
}

export interface Informer<S> {
  /** True once a first list has completed. */
  synced(): boolean;
  get(namespace: string, name: string): S | undefined;
  /** Summaries of one namespace ('' for cluster-scoped objects). */
  list(namespace: string): Iterable<S>;
  start(): void;
  stop(): void;
}

const PAGE = 500;
const MAX_BACKOFF_MS = 30_000;

export function informer<T extends Meta, S>(options: InformerOptions<T, S>): Informer<S> {
  const { client, watch, path, logger } = options;
  const selectors = {
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
  };
  let store = new Map<string, Map<string, S>>();
  let resourceVersion = '';
  let synced = false;
  let stopped = true;
  let failures = 0;
  let abort: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;

  const put = (target: Map<string, Map<string, S>>, object: T) => {
    const ns = object.metadata?.namespace ?? '';
    let names = target.get(ns);
    if (names === undefined) target.set(ns, (names = new Map()));
    names.set(object.metadata?.name ?? '', options.summarize(object));
  };
  const remove = (object: T) => store.get(object.metadata?.namespace ?? '')?.delete(object.metadata?.name ?? '');

  async function list(): Promise<void> {
    const next = new Map<string, Map<string, S>>();
    let token: string | undefined;
    do {
      const page = await client.request<List<T>>('GET', path, { query: { ...selectors, limit: String(PAGE), continue: token } });
      for (const item of page.items ?? []) put(next, item);
      token = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (token);
    store = next;
    if (!synced) {
      synced = true;
      options.onSynced?.();
    }
  }

  function retry(err: unknown): void {
    failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 7));
    logger.warn({ err, path, retryMs: delay }, 'watch failed; resuming');
    timer = setTimeout(() => void loop(), delay);
    timer.unref();
  }

  async function loop(): Promise<void> {
    if (stopped) return;
    try {
      if (!resourceVersion) await list();
      if (stopped) return;
      let gone = false;
      abort = await watch(
        path,
        { ...selectors, resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' },
        (type, raw) => {
          const object = raw as T & { code?: number };
          if (type === 'ERROR') {
            if (object.code === 410) gone = true;
            return;
          }
          failures = 0;
          if (type === 'ADDED' || type === 'MODIFIED') put(store, object);
          else if (type === 'DELETED') remove(object);
          resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        },
        (err: unknown) => {
          abort = undefined;
          if (stopped) return;
          const status = (err as { statusCode?: number } | null)?.statusCode;
          if (gone || status === 410) resourceVersion = '';
          // A watch the server or the idle timer closed resumes at once; a failure backs off.
          const closedNormally = err === null || err === undefined || (err as Error).name === 'TimeoutError' || gone || status === 410;
          if (closedNormally) setImmediate(() => void loop());
          else retry(err);
        },
      );
    } catch (err) {
      resourceVersion = '';
      retry(err);
    }
  }

  return {
    synced: () => synced,
    get: (namespace, name) => store.get(namespace)?.get(name),
    list: (namespace) => store.get(namespace)?.values() ?? [],
    start() {
      if (!stopped) return;
      stopped = false;
      void loop();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort?.abort();
    },
  };
}
