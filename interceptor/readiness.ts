// Learning the moment a new pod can serve: its sidecar's `/lull/wait-ready` long poll answers as soon
// as the sidecar's fast probe sees the app accept, well before the kubelet's readiness period would.
import type { V1Pod } from '@kubernetes/client-node';
import { waitReady, type WaitResult } from '../core/sidecar-admin-client.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_ADMIN_PORT_NAME } from '../core/sidecar-contract.ts';

/** Pure: the sidecar's admin port on a pod, found by its port name; the contract's default otherwise. */
export function adminPortOf(pod: Pick<V1Pod, 'spec'> | undefined): number {
  for (const container of [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])]) {
    const port = container.ports?.find((p) => p.name === SIDECAR_ADMIN_PORT_NAME);
    if (port !== undefined) return port.containerPort;
  }
  return SIDECAR_ADMIN_PORT;
}

export interface ReadyProbeOptions {
  /** Retry pace while the sidecar does not accept yet: a refused local connect is cheap, and waiting longer is latency. */
  retryMs: number;
  /** The slower pace after `fastForMs` of refusals (a pod stuck before its sidecar starts). */
  slowRetryMs: number;
  fastForMs: number;
  /** Longest single long poll; it is simply asked again. */
  pollMs: number;
}

export const READY_PROBE_DEFAULTS: ReadyProbeOptions = { retryMs: 5, slowRetryMs: 100, fastForMs: 5000, pollMs: 60_000 };

export interface ProbeTarget {
  address: string;
  /** Read at each attempt: the pod's spec may arrive after its address. */
  adminPort(): number;
}

/**
 * Asks each new pod's sidecar, once per pod, until it answers ready (or the pod is forgotten).
 * Keys name a pod incarnation (uid or name plus address), so a reused address starts afresh.
 */
export class ReadyProbe {
  readonly #ready = new Set<string>();
  readonly #running = new Map<string, AbortController>();
  /** Pods whose admin port answered but has no wait-ready: not asked again. */
  readonly #noSidecar = new Set<string>();
  /** Pods waiting out a refused connect: a nudge asks again at once. */
  readonly #retryNow = new Map<string, () => void>();
  readonly #onReady: (key: string) => void;
  readonly #options: ReadyProbeOptions;

  constructor(onReady: (key: string) => void, options: Partial<ReadyProbeOptions> = {}) {
    this.#onReady = onReady;
    this.#options = { ...READY_PROBE_DEFAULTS, ...options };
  }

  isReady(key: string): boolean {
    return this.#ready.has(key);
  }

  /**
   * Starts asking, unless this pod is already known ready or being asked; a pod waiting out a refused
   * connect is asked again at once (its watch events are the nearest thing to "the sidecar listens now").
   */
  probe(key: string, target: ProbeTarget): void {
    if (this.#running.has(key)) return void this.#retryNow.get(key)?.();
    if (this.#ready.has(key) || this.#noSidecar.has(key)) return;
    const abort = new AbortController();
    this.#running.set(key, abort);
    void this.#run(key, target, abort.signal);
  }

  /** The pod is gone, or failed a connect: forget what was learned and stop asking. */
  forget(key: string): void {
    this.#ready.delete(key);
    this.#retryNow.delete(key);
    this.#noSidecar.delete(key);
    this.#running.get(key)?.abort();
    this.#running.delete(key);
  }

  /** Forgets every key `keep` does not. */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.#ready, ...this.#running.keys(), ...this.#noSidecar]) if (!keep(key)) this.forget(key);
  }

  stop(): void {
    for (const key of [...this.#running.keys()]) this.forget(key);
    this.#ready.clear();
    this.#noSidecar.clear();
  }

  async #run(key: string, target: ProbeTarget, signal: AbortSignal): Promise<void> {
    const { retryMs, slowRetryMs, fastForMs, pollMs } = this.#options;
    let refusedSince = 0;
    while (!signal.aborted) {
      let result: WaitResult | undefined;
      try {
        result = await waitReady(target.address, target.adminPort(), pollMs, signal);
      } catch {
        // Not listening yet: the sidecar starts within moments of the pod getting its address.
        const now = Date.now();
        refusedSince ||= now;
        let retryNow: () => void = () => undefined;
        await new Promise<void>((resolve) => {
          retryNow = sleep(now - refusedSince < fastForMs ? retryMs : slowRetryMs, signal, resolve);
          this.#retryNow.set(key, retryNow);
        });
        if (this.#retryNow.get(key) === retryNow) this.#retryNow.delete(key);
        continue;
      }
      if (signal.aborted) return;
      if (result === 'ready') {
        this.#running.delete(key);
        this.#ready.add(key);
        this.#onReady(key);
        return;
      }
      // No sidecar to ask: the EndpointSlice's own ready condition will have to do.
      if (result === 'no-sidecar') {
        this.#running.delete(key);
        this.#noSidecar.add(key);
        return;
      }
      refusedSince = 0;
      // Other callers hold every long poll: the EndpointSlice's ready condition still counts meanwhile.
      if (result === 'busy') await pause(slowRetryMs, signal);
    }
  }
}

/** Calls `resolve` after `ms`, on abort, or when the returned function is called, whichever comes first (once). */
function sleep(ms: number, signal: AbortSignal, resolve: () => void): () => void {
  let over = false;
  const timer = setTimeout(done, ms);
  function done() {
    if (over) return;
    over = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', done);
    resolve();
  }
  signal.addEventListener('abort', done, { once: true });
  return done;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => void sleep(ms, signal, resolve));
}
