// What the reconciler reads: when traffic last arrived and what is in flight. Plain counters on the
// hot path; snapshots and waits are built on demand.
import type { ActivitySnapshot } from '../core/sidecar-contract.ts';

export class Activity {
  /** Epoch ms of the last request or client bytes; 0 until something arrives. */
  lastActivityAt = 0;
  requestsInFlight = 0;
  connectionsInFlight = 0;
  requestsTotal = 0;
  connectionsTotal = 0;
  readonly startedAt: number;
  #whenNoRequests: (() => void)[] = [];

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  requestStarted(now: number): void {
    this.lastActivityAt = now;
    this.requestsInFlight++;
    this.requestsTotal++;
  }

  requestEnded(): void {
    if (--this.requestsInFlight === 0 && this.#whenNoRequests.length > 0) {
      const waiters = this.#whenNoRequests;
      this.#whenNoRequests = [];
      for (const resolve of waiters) resolve();
    }
  }

  connectionOpened(): void {
    this.connectionsInFlight++;
    this.connectionsTotal++;
  }

  connectionClosed(): void {
    this.connectionsInFlight--;
  }

  /** Client bytes on a layer-4 connection or an upgraded tunnel. */
  bytesArrived(now: number): void {
    this.lastActivityAt = now;
  }

  /** Resolves once no HTTP request is in flight (at once if none is). */
  noRequestsInFlight(): Promise<void> {
    if (this.requestsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenNoRequests.push(resolve));
  }

  snapshot(ready: boolean, draining: boolean, now = Date.now()): ActivitySnapshot {
    return {
      lastActivityAt: this.lastActivityAt,
      inFlight: this.requestsInFlight + this.connectionsInFlight,
      requestsInFlight: this.requestsInFlight,
      connectionsInFlight: this.connectionsInFlight,
      requestsTotal: this.requestsTotal,
      connectionsTotal: this.connectionsTotal,
      ready,
      draining,
      startedAt: this.startedAt,
      now,
    };
  }
}
