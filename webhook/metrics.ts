// Prometheus metrics of the webhook, on a registry of its own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WebhookMetrics {
  registry: Registry;
  admissions: Counter<'webhook' | 'kind' | 'operation' | 'outcome'>;
  duration: Histogram<'webhook'>;
  certificateExpiry: Gauge;
  certificateRenewals: Counter;
  informerSynced: Gauge<'resource'>;
  internalErrors: Counter<'webhook' | 'answer'>;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'lull_webhook_' });
  return {
    registry,
    admissions: new Counter({
      name: 'lull_webhook_admissions_total',
      help: 'AdmissionReviews answered, by webhook (mutate, validate), kind, operation and outcome (allowed, patched, denied, error).',
      labelNames: ['webhook', 'kind', 'operation', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'lull_webhook_admission_duration_seconds',
      help: 'Time from receiving an AdmissionReview to answering it.',
      labelNames: ['webhook'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'lull_webhook_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time).',
      registers: [registry],
    }),
    certificateRenewals: new Counter({
      name: 'lull_webhook_certificate_swaps_total',
      help: 'Serving certificates swapped in without a restart (renewed here or by another replica).',
      registers: [registry],
    }),
    informerSynced: new Gauge({
      name: 'lull_webhook_informer_synced',
      help: '1 once the informer of a resource has listed it, 0 while it has not.',
      labelNames: ['resource'],
      registers: [registry],
    }),
    internalErrors: new Counter({
      name: 'lull_webhook_internal_errors_total',
      help: 'Admissions whose handler failed (a bug; see the error log), by webhook and answer: denied (a user change of lull.dev/ annotations that could not be checked) or allowed (unchanged).',
      labelNames: ['webhook', 'answer'],
      registers: [registry],
    }),
  };
}
