// Prometheus metrics of the reconciler, on a registry of its own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppState } from '../core/annotations.ts';

export interface ReconcilerMetrics {
  registry: Registry;
  apps: Gauge<'state'>;
  sleeps: Counter;
  wakes: Counter<'trigger'>;
  wakeDuration: Histogram;
  wakeFailures: Counter;
  idleQueries: Counter<'outcome'>;
  idleQueryFailures: Counter;
  touches: Counter<'kind' | 'purpose'>;
  onboards: Counter;
  optOuts: Counter;
  sliceWrites: Counter<'operation'>;
  reconciles: Counter<'outcome'>;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  deadlines: Gauge;
  leader: Gauge;
  leaseErrors: Counter<'code'>;
  informerSynced: Gauge<'resource'>;
  interceptorPorts: Gauge;
  autoscaleObserved: Gauge<'namespace' | 'deployment'>;
  autoscaleDesired: Gauge<'namespace' | 'deployment'>;
  autoscaleScales: Counter<'direction'>;
  autoscaleLoadQueries: Counter<'outcome'>;
  autoscaleTickDuration: Histogram;
  autoscaleSkippedTicks: Counter;
}

export interface MetricSources {
  processMetrics?: boolean;
  appsByState?: () => Record<AppState, number>;
  queueDepth?: () => number;
  deadlines?: () => number;
}

export function createMetrics(options: MetricSources = {}): ReconcilerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'lull_reconciler_' });
  const { appsByState, queueDepth, deadlines } = options;
  const metrics: ReconcilerMetrics = {
    registry,
    apps: new Gauge({
      name: 'lull_reconciler_apps',
      help: 'Opted-in Deployments carrying the sidecar, by lull.dev/state (counted by the leader).',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        if (!appsByState) return;
        for (const [state, n] of Object.entries(appsByState())) this.set({ state }, n);
      },
    }),
    sleeps: new Counter({ name: 'lull_reconciler_sleeps_total', help: 'Apps put to sleep (scaled to zero behind the interceptor).', registers: [registry] }),
    wakes: new Counter({
      name: 'lull_reconciler_wakes_total',
      help: 'Apps seen ready again after sleeping, by what woke them (interceptor: state was waking; scale: someone set replicas).',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    wakeDuration: new Histogram({
      name: 'lull_reconciler_wake_duration_seconds',
      help: 'From the wake starting (state waking, or replicas set while sleeping) to the app\'s own endpoints being ready.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    wakeFailures: new Counter({ name: 'lull_reconciler_wake_failures_total', help: 'Wakes that did not reach a ready endpoint within the hold-timeout.', registers: [registry] }),
    idleQueries: new Counter({
      name: 'lull_reconciler_idle_queries_total',
      help: 'Pods asked for their activity, by outcome (idle, active, busy: requests in flight, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    idleQueryFailures: new Counter({ name: 'lull_reconciler_idle_query_failures_total', help: 'Pods that could not be asked for their activity (counted busy).', registers: [registry] }),
    touches: new Counter({
      name: 'lull_reconciler_touches_total',
      help: 'Objects re-submitted through the webhook with a lull.dev/touched-at touch, by kind and purpose (onboard, route, opt-out, upgrade).',
      labelNames: ['kind', 'purpose'],
      registers: [registry],
    }),
    onboards: new Counter({ name: 'lull_reconciler_onboards_total', help: 'Deployments Lull started managing.', registers: [registry] }),
    optOuts: new Counter({ name: 'lull_reconciler_opt_outs_total', help: 'Deployments Lull stopped managing and restored.', registers: [registry] }),
    sliceWrites: new Counter({
      name: 'lull_reconciler_slice_writes_total',
      help: 'Interceptor EndpointSlice writes, by operation (create, update, delete).',
      labelNames: ['operation'],
      registers: [registry],
    }),
    reconciles: new Counter({ name: 'lull_reconciler_reconciles_total', help: 'App reconciles, by outcome (ok, error).', labelNames: ['outcome'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'lull_reconciler_reconcile_duration_seconds',
      help: 'Time to reconcile one app, activity queries and API writes included.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'lull_reconciler_queue_depth',
      help: 'Apps waiting to be reconciled or being reconciled.',
      registers: [registry],
      collect() {
        if (queueDepth) this.set(queueDepth());
      },
    }),
    deadlines: new Gauge({
      name: 'lull_reconciler_deadlines',
      help: 'Apps with a scheduled reconcile (an activity check, a touch retry, a wake deadline).',
      registers: [registry],
      collect() {
        if (deadlines) this.set(deadlines());
      },
    }),
    leader: new Gauge({ name: 'lull_reconciler_leader', help: '1 while this replica leads.', registers: [registry] }),
    leaseErrors: new Counter({
      name: 'lull_reconciler_lease_errors_total',
      help: 'Failed reads and writes of the leader Lease, by HTTP status (404: its namespace is missing; 403: not allowed) or "network".',
      labelNames: ['code'],
      registers: [registry],
    }),
    informerSynced: new Gauge({ name: 'lull_reconciler_informer_synced', help: '1 once the informer of a resource has listed it.', labelNames: ['resource'], registers: [registry] }),
    interceptorPorts: new Gauge({ name: 'lull_reconciler_interceptor_ports', help: 'Interceptor ports allocated cluster-wide.', registers: [registry] }),
    autoscaleObserved: new Gauge({
      name: 'lull_reconciler_autoscale_observed',
      help: "An autoscaled app's load over its pods' last second, in its target's unit (requests in flight, or requests per second).",
      labelNames: ['namespace', 'deployment'],
      registers: [registry],
    }),
    autoscaleDesired: new Gauge({ name: 'lull_reconciler_autoscale_desired_replicas', help: 'Replicas the autoscaler decided an app should have.', labelNames: ['namespace', 'deployment'], registers: [registry] }),
    autoscaleScales: new Counter({ name: 'lull_reconciler_autoscale_scales_total', help: 'Scales made by the autoscaler, by direction (up, down).', labelNames: ['direction'], registers: [registry] }),
    autoscaleLoadQueries: new Counter({
      name: 'lull_reconciler_autoscale_load_queries_total',
      help: 'Pods asked for their load (one per pod of an autoscaled app per second), by outcome (ok, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    autoscaleTickDuration: new Histogram({
      name: 'lull_reconciler_autoscale_pass_seconds',
      help: 'Time of one autoscaler pass over every autoscaled app (reads and scales included).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    }),
    autoscaleSkippedTicks: new Counter({ name: 'lull_reconciler_autoscale_skipped_passes_total', help: 'Autoscaler passes skipped because the previous one was still running.', registers: [registry] }),
  };
  // Every trigger from the start, so increase() counts the first wake too (a series born at 1 shows no increase).
  for (const trigger of ['interceptor', 'scale']) metrics.wakes.inc({ trigger }, 0);
  return metrics;
}
