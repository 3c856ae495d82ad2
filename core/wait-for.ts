// The one way to wait on the API without polling: a cache, and a condition looked at once it has
// listed and after every change, until it holds or the time is up. For the CLI, the demo and tests.
import { informer, type Informer, type InformerOptions } from './informer.ts';

/** What a wait that ran out says: `what` names what was awaited, or makes the whole error. */
export type Awaited = string | (() => Error);

/** Resolves with the first value `found` returns (anything but undefined); rejects after `timeoutMs`. */
export function waitFor<T, R>(cache: Informer<T>, found: (cache: Informer<T>) => R | undefined, timeoutMs: number, what: Awaited = cache.path): Promise<R> {
  const onTimeout = typeof what === 'string' ? () => new Error(`${what}: not within ${Math.round(timeoutMs / 1000)}s`) : what;
  return new Promise<R>((resolve, reject) => {
    let queued = false;
    let done = false;
    const settle = (finish: () => void) => {
      done = true;
      clearTimeout(timer);
      unsubscribe();
      finish();
    };
    const check = () => {
      queued = false;
      if (done) return;
      let result: R | undefined;
      try {
        result = found(cache);
      } catch (err) {
        return settle(() => reject(err));
      }
      if (result !== undefined) settle(() => resolve(result));
    };
    // A list reports every object: look once after the burst, not once per object.
    const unsubscribe = cache.subscribe(() => {
      if (!queued && cache.hasSynced()) {
        queued = true;
        queueMicrotask(check);
      }
    });
    const timer = setTimeout(() => settle(() => reject(onTimeout())), timeoutMs);
    void cache.synced.then(() => {
      if (!queued) check();
    });
  });
}

/** A cache of `options.path` only for as long as it takes `found` to say yes (see waitFor). */
export async function watchUntil<T, R>(options: InformerOptions<T>, found: (cache: Informer<T>) => R | undefined, timeoutMs: number, what?: Awaited): Promise<R> {
  const cache = informer(options).start();
  try {
    return await waitFor(cache, found, timeoutMs, what);
  } finally {
    cache.stop();
  }
}
