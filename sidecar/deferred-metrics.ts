// Metrics whose library loads after the wake: prom-client takes tens of ms to load, which a waking pod
// must not wait for. Until it is attached, observations are kept as numbers and replayed into it.
import type { Registry } from 'prom-client';
import type { RegisteredMetrics, SidecarMetrics } from './metrics.ts';

/** Observations kept before the library loads; beyond this (a flood before the first scrape) they are dropped. */
const MAX_PENDING = 100_000;
const TCP = -1;
const HTTP1 = -2;

export type Exposition = Pick<Registry, 'metrics' | 'contentType'>;

export class DeferredMetrics implements SidecarMetrics {
  #real: RegisteredMetrics | undefined;
  /** Pairs: status and seconds for an exchange, or a protocol code and 0 for a connection. */
  #pending: number[] = [];
  /** Refusals by error code. */
  #refused = new Map<string, number>();
  #load: () => Promise<RegisteredMetrics>;
  #loading: Promise<RegisteredMetrics> | undefined;
  #attached!: () => void;
  /** Resolves once the library is loaded, whoever asked for it. */
  readonly attached = new Promise<void>((resolve) => (this.#attached = resolve));

  constructor(load: () => Promise<RegisteredMetrics>) {
    this.#load = load;
  }

  get loaded(): boolean {
    return this.#real !== undefined;
  }

  observe(status: number, seconds: number): void {
    if (this.#real !== undefined) this.#real.observe(status, seconds);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push(status, seconds);
  }

  connection(protocol: 'http1' | 'tcp'): void {
    if (this.#real !== undefined) this.#real.connection(protocol);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push(protocol === 'tcp' ? TCP : HTTP1, 0);
  }

  refused(code: string): void {
    if (this.#real !== undefined) this.#real.refused(code);
    else this.#refused.set(code, (this.#refused.get(code) ?? 0) + 1);
  }

  /** Loads the library (once) and replays what was observed meanwhile. */
  attach(): Promise<RegisteredMetrics> {
    this.#loading ??= this.#load().then((real) => {
      const pending = this.#pending;
      this.#pending = [];
      for (let i = 0; i < pending.length; i += 2) {
        const code = pending[i]!;
        if (code === TCP) real.connection('tcp');
        else if (code === HTTP1) real.connection('http1');
        else real.observe(code, pending[i + 1]!);
      }
      for (const [code, count] of this.#refused) for (let i = 0; i < count; i++) real.refused(code);
      this.#refused.clear();
      this.#real = real;
      this.#attached();
      return real;
    });
    return this.#loading;
  }

  /** What the admin port serves at /metrics: asking for it loads the library at once. */
  exposition(): Exposition {
    const self = this;
    return {
      metrics: async () => (await self.attach()).registry.metrics(),
      // Read after metrics() has resolved, so the library's own value; its text format otherwise.
      get contentType() {
        return self.#real?.registry.contentType ?? ('text/plain; version=0.0.4; charset=utf-8' as Exposition['contentType']);
      },
    };
  }
}
