// Damping for the interceptor EndpointSlices: the slice this leader last wrote stands in for the cached
// one until the cache shows that version, so a reconcile that runs before the watch catches up neither
// writes the same slice again nor loses a write on a stale resourceVersion: one write per real change.
import type { SliceObj } from '../core/objects.ts';

/** Longest a written slice stands in for the cache (someone may have deleted it since). */
const STAND_IN_MS = 30_000;

export class SliceWrites {
  readonly #written = new Map<string, { slice: SliceObj; at: number }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The cached slice, unless this leader wrote a newer one that the cache does not show yet. */
  current(namespace: string, name: string, cached: SliceObj | undefined): SliceObj | undefined {
    const key = `${namespace}/${name}`;
    const written = this.#written.get(key);
    if (written === undefined) return cached;
    const caughtUp = cached !== undefined && !olderThan(cached.metadata.resourceVersion, written.slice.metadata.resourceVersion);
    if (!caughtUp && this.#now() - written.at < STAND_IN_MS) return written.slice;
    this.#written.delete(key);
    return cached;
  }

  wrote(slice: SliceObj): void {
    this.#written.set(`${slice.metadata.namespace ?? ''}/${slice.metadata.name}`, { slice, at: this.#now() });
  }

  deleted(namespace: string, name: string): void {
    this.#written.delete(`${namespace}/${name}`);
  }

  clear(): void {
    this.#written.clear();
  }
}

/** resourceVersions are etcd revisions, numbers that only grow; anything else is never "older". */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  const [x, y] = [Number(a), Number(b)];
  return a !== undefined && b !== undefined && Number.isFinite(x) && Number.isFinite(y) && x < y;
}
