// A work queue of app keys, as client-go's: a key waits at most once, is never worked on by two workers
// at once (one added while it is being worked on runs again after), and failures retry with backoff.

export interface QueueOptions {
  workers: number;
  work: (key: string) => Promise<void>;
  onError: (key: string, err: unknown, retryMs: number) => void;
  minRetryMs?: number;
  maxRetryMs?: number;
}

export class WorkQueue {
  readonly #options: QueueOptions;
  readonly #waiting = new Set<string>();
  readonly #active = new Set<string>();
  /** Keys added while active: run again once the current run ends. */
  readonly #again = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #retries = new Map<string, NodeJS.Timeout>();
  readonly #idleWaiters: Array<() => void> = [];
  #running = false;
  #processed = 0;
  #pumpScheduled = false;

  constructor(options: QueueOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops taking keys and forgets every pending one; work in progress finishes. */
  stop(): void {
    this.#running = false;
    this.#waiting.clear();
    this.#again.clear();
    this.#failures.clear();
    for (const t of this.#retries.values()) clearTimeout(t);
    this.#retries.clear();
  }

  add(key: string): void {
    if (!this.#running) return;
    if (this.#active.has(key)) {
      this.#again.add(key);
      return;
    }
    this.#waiting.add(key);
    // Later in this turn: a burst of events for one key (one watch chunk) becomes one run.
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => {
        this.#pumpScheduled = false;
        this.#pump();
      });
    }
  }

  get depth(): number {
    return this.#waiting.size + this.#active.size + this.#again.size;
  }

  get processed(): number {
    return this.#processed;
  }

  /** Resolves once nothing waits and nothing runs (retries scheduled later do not count). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (this.#running && this.#active.size < this.#options.workers && this.#waiting.size > 0) {
      const key = this.#waiting.values().next().value as string;
      this.#waiting.delete(key);
      this.#active.add(key);
      void this.#run(key);
    }
    if (this.depth === 0 && this.#idleWaiters.length > 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#options.work(key);
      this.#failures.delete(key);
    } catch (err) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const retryMs = Math.min(this.#options.maxRetryMs ?? 30_000, (this.#options.minRetryMs ?? 100) * 2 ** Math.min(failures - 1, 16));
      this.#options.onError(key, err, retryMs);
      if (this.#running && !this.#retries.has(key)) {
        const timer = setTimeout(() => {
          this.#retries.delete(key);
          this.add(key);
        }, retryMs);
        timer.unref();
        this.#retries.set(key, timer);
      }
    } finally {
      this.#processed++;
      this.#active.delete(key);
      if (this.#again.delete(key) && this.#running) this.#waiting.add(key);
      this.#pump();
    }
  }
}
