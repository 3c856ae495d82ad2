// Whether the app can serve: probed every few milliseconds until it can (so a woken pod is used the
// moment it accepts), then at a slow pace to notice it going away. Waiters are released on the change.
import type { AppCheck } from './probe.ts';
import { runCheck } from './probe.ts';

export interface ReadinessOptions {
  /** Pace while not ready. */
  fastMs: number;
  /** Pace while ready. */
  slowMs: number;
  /** Failed checks in a row that make a ready app not ready (the kubelet's default is 3). */
  failureThreshold: number;
}

export const READINESS_DEFAULTS: ReadinessOptions = { fastMs: 5, slowMs: 1000, failureThreshold: 3 };

export class Readiness {
  ready = false;
  /** Epoch ms when the app last became ready; 0 before. */
  readySince = 0;
  #waiters = new Set<() => void>();
  #listeners: ((ready: boolean) => void)[] = [];

  set(ready: boolean, now = Date.now()): void {
    if (ready === this.ready) return;
    this.ready = ready;
    if (ready) {
      this.readySince = now;
      for (const resolve of this.#waiters) resolve();
      this.#waiters.clear();
    }
    for (const listener of this.#listeners) listener(ready);
  }

  onChange(listener: (ready: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves true as soon as the app is ready, or false after `timeoutMs` or on abort. */
  waitReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(onReady);
        resolve(ok);
      };
      const onReady = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#waiters.add(onReady);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Probes until stopped; returns the stop function. */
export function startProber(check: AppCheck, readiness: Readiness, options: ReadinessOptions = READINESS_DEFAULTS): () => void {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const tick = async () => {
    const ok = await runCheck(check, abort.signal);
    if (abort.signal.aborted) return;
    if (ok) {
      failures = 0;
      readiness.set(true);
    } else if (!readiness.ready || ++failures >= options.failureThreshold) {
      readiness.set(false);
    }
    timer = setTimeout(tick, readiness.ready ? options.slowMs : options.fastMs);
  };
  void tick();
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}
