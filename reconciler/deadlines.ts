// One timer for every app's deadline: a min-heap of (time, key), so 5,000 apps cost one setTimeout
// and a key is fired once, at the latest time it was given.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Entry {
  at: number;
  key: string;
}

export class Deadlines {
  readonly #clock: Clock;
  readonly #fire: (key: string) => void;
  readonly #heap: Entry[] = [];
  /** The one live deadline per key; heap entries that disagree are stale and skipped. */
  readonly #due = new Map<string, number>();
  #timer: unknown;
  #timerAt = Infinity;

  constructor(fire: (key: string) => void, clock: Clock = systemClock) {
    this.#fire = fire;
    this.#clock = clock;
  }

  /** Fires `key` at `at` (epoch ms), replacing any deadline it had. */
  schedule(key: string, at: number): void {
    if (this.#due.get(key) === at) return;
    this.#due.set(key, at);
    this.#push({ at, key });
    if (at < this.#timerAt) this.#arm();
  }

  cancel(key: string): void {
    this.#due.delete(key);
  }

  /** The deadline of `key`, if it has one. */
  get(key: string): number | undefined {
    return this.#due.get(key);
  }

  get size(): number {
    return this.#due.size;
  }

  clear(): void {
    this.#due.clear();
    this.#heap.length = 0;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    // Drop stale heads so the timer is set for a live deadline.
    while (this.#heap.length > 0 && this.#due.get(this.#heap[0]!.key) !== this.#heap[0]!.at) this.#pop();
    const head = this.#heap[0];
    if (head === undefined) return;
    this.#timerAt = head.at;
    // Timers above 2^31-1 ms overflow to 1 ms: cap, and re-arm when it fires early.
    const delay = Math.min(Math.max(0, head.at - this.#clock.now()), 2 ** 31 - 1);
    this.#timer = this.#clock.setTimeout(() => this.#run(), delay);
  }

  #run(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const fired: string[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const { key, at } = this.#pop()!;
      if (this.#due.get(key) !== at) continue;
      this.#due.delete(key);
      fired.push(key);
    }
    this.#arm();
    for (const key of fired) this.#fire(key);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
