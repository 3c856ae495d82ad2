// The activity ledger of one client connection: the requests sent to the app and not yet answered,
// in order. Every exchange that starts ends exactly once (answered, refused, cut or abandoned), so
// /lull/activity never shows a request in flight that is gone.
import { performance } from 'node:perf_hooks';
import type { Activity } from './activity.ts';
import type { SidecarMetrics } from './metrics.ts';

export interface Exchange {
  method: string;
  startedAt: number;
  /** Counted as activity (not a kubelet probe). */
  counted: boolean;
  upgrade: boolean;
  close: boolean;
  /** The head sent to the app, kept while a body-less idempotent request may be retried. */
  retryHead: Buffer | string | null;
  retried: boolean;
  ended: boolean;
}

export class Exchanges {
  #queue: Exchange[] = [];
  #activity: Activity;
  #metrics: SidecarMetrics;

  constructor(activity: Activity, metrics: SidecarMetrics) {
    this.#activity = activity;
    this.#metrics = metrics;
  }

  get length(): number {
    return this.#queue.length;
  }

  /** The oldest: the one the app answers now. */
  get first(): Exchange | undefined {
    return this.#queue[0];
  }

  /** The newest: the one whose request is being sent. */
  get last(): Exchange | undefined {
    return this.#queue[this.#queue.length - 1];
  }

  start(method: string, counted: boolean, upgrade: boolean, close: boolean, retryHead: Buffer | string | null): Exchange {
    if (counted) this.#activity.requestStarted(Date.now());
    const exchange: Exchange = { method, startedAt: performance.now(), counted, upgrade, close, retryHead, retried: false, ended: false };
    this.#queue.push(exchange);
    return exchange;
  }

  /** The oldest is answered (status > 0) or cut (0). */
  endFirst(status: number): Exchange | undefined {
    const exchange = this.#queue.shift();
    if (exchange !== undefined) this.end(exchange, status);
    return exchange;
  }

  /** The newest is withdrawn (its request never completed). */
  endLast(status: number): void {
    const exchange = this.#queue.pop();
    if (exchange !== undefined) this.end(exchange, status);
  }

  /** Out of the queue without ending: a tunnel took the exchange over and ends it when it closes. */
  handOver(): Exchange | undefined {
    return this.#queue.shift();
  }

  /** Ends every exchange still queued: the connection is gone. */
  abandonAll(): void {
    for (const exchange of this.#queue.splice(0)) this.end(exchange, 0);
  }

  /** Status 0: no response was relayed (not observed in the metrics). */
  end(exchange: Exchange, status: number): void {
    if (exchange.ended) return;
    exchange.ended = true;
    if (exchange.counted) this.#activity.requestEnded();
    if (status > 0) this.#metrics.observe(status, (performance.now() - exchange.startedAt) / 1000);
  }
}
