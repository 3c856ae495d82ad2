// Prometheus metrics of one interceptor, in its own registry so several can run in one process (tests).
// Gauges are read when scraped; the connection path only increments counters and observes durations.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outcome } from './hold.ts';

export interface InterceptorMetrics {
  registry: Registry;
  count(outcome: Outcome): void;
  observeHeld(ms: number): void;
  woke(result: 'scaled' | 'lost' | 'failed'): void;
  observeWake(ms: number): void;
}

export interface Gauges {
  held(): number;
  listeners(): number;
  apps(): number;
}

const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(gauges: Gauges): InterceptorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const connections = new Counter({
    name: 'lull_interceptor_connections_total',
    help: 'Connections by outcome: forwarded at once, forwarded after being held, refused (and why), retried after a pod refused, given the waiting page, or a waiting page poll answered',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const held = new Histogram({
    name: 'lull_interceptor_held_seconds',
    help: 'Time a held connection waited before being forwarded',
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  const wakes = new Counter({
    name: 'lull_interceptor_wakes_total',
    help: 'Scale-ups tried from zero: scaled by this replica, lost to another waker, or failed',
    labelNames: ['result'],
    registers: [registry],
  });
  // Every result from the start, so increase() counts the first wake too (a series born at 1 shows no increase).
  for (const result of ['scaled', 'lost', 'failed']) wakes.inc({ result }, 0);
  const wake = new Histogram({
    name: 'lull_interceptor_wake_seconds',
    help: 'Time from the first held connection of a wake to the first ready pod',
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  new Gauge({ name: 'lull_interceptor_held_connections', help: 'Connections held now', registers: [registry], collect() { this.set(gauges.held()); } });
  new Gauge({ name: 'lull_interceptor_listeners', help: 'Interceptor ports listened on', registers: [registry], collect() { this.set(gauges.listeners()); } });
  new Gauge({ name: 'lull_interceptor_apps', help: 'Apps being watched because connections for them arrived lately', registers: [registry], collect() { this.set(gauges.apps()); } });
  return {
    registry,
    count: (outcome) => connections.inc({ outcome }),
    observeHeld: (ms) => held.observe(ms / 1000),
    woke: (result) => wakes.inc({ result }),
    observeWake: (ms) => wake.observe(ms / 1000),
  };
}
