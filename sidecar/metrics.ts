// Prometheus metrics of one sidecar, in its own registry so several can run in one process (tests).
// Gauges, byte and request totals are read when scraped; the hot path only adds to plain numbers.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Activity } from './activity.ts';
import type { ClientSockets } from './clients.ts';
import { LocalHistogram } from './histogram.ts';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** What the hot path records. */
export interface SidecarMetrics {
  /** One exchange finished (or switched protocols): its status and seconds from request to end. */
  observe(status: number, seconds: number): void;
  connection(protocol: 'http1' | 'tcp'): void;
  /** The sidecar refused a request or connection itself (malformed, too large, timed out, over the cap). */
  refused(code: string): void;
}

export interface RegisteredMetrics extends SidecarMetrics {
  registry: Registry;
}

export function createMetrics(activity: Activity, clients: ClientSockets, isReady: () => boolean): RegisteredMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Per status class (1xx..5xx): prom-client's Counter#inc hashes its labels on every call.
  const byClass = new Float64Array(STATUS_CLASSES.length);
  new Counter({
    name: 'lull_sidecar_requests_total',
    help: 'HTTP requests forwarded to the app, by response status class',
    labelNames: ['status_class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [i, c] of STATUS_CLASSES.entries()) if (byClass[i]! > 0) this.inc({ status_class: c }, byClass[i]!);
    },
  });
  const duration = new LocalHistogram({
    name: 'lull_sidecar_request_duration_seconds',
    help: 'Time from a request arriving to its response ending (to 101 for upgrades)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const connections = new Counter({
    name: 'lull_sidecar_connections_total',
    help: 'Client connections, by protocol seen (http1, or tcp for anything passed through at layer 4)',
    labelNames: ['protocol'],
    registers: [registry],
  });
  new Gauge({
    name: 'lull_sidecar_requests_in_flight',
    help: 'HTTP requests awaiting their response (upgraded ones until they close)',
    registers: [registry],
    collect() {
      this.set(activity.requestsInFlight);
    },
  });
  new Gauge({
    name: 'lull_sidecar_connections_in_flight',
    help: 'Layer-4 connections open',
    registers: [registry],
    collect() {
      this.set(activity.connectionsInFlight);
    },
  });
  new Counter({
    name: 'lull_sidecar_received_bytes_total',
    help: 'Bytes received from clients',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(clients.bytesReceived());
    },
  });
  new Counter({
    name: 'lull_sidecar_sent_bytes_total',
    help: 'Bytes sent to clients',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(clients.bytesSent());
    },
  });
  new Gauge({
    name: 'lull_sidecar_last_activity_timestamp_seconds',
    help: 'When a request or client bytes last arrived (0: never)',
    registers: [registry],
    collect() {
      this.set(activity.lastActivityAt / 1000);
    },
  });
  new Gauge({
    name: 'lull_sidecar_app_ready',
    help: '1 while the app accepts connections (or passes its own readiness probe)',
    registers: [registry],
    collect() {
      this.set(isReady() ? 1 : 0);
    },
  });
  const refusals = new Counter({
    name: 'lull_sidecar_refusals_total',
    help: 'Requests and connections the sidecar refused itself, by error code (LULL_MALFORMED_REQUEST, LULL_SIDECAR_FULL, ...)',
    labelNames: ['code'],
    registers: [registry],
  });
  return {
    registry,
    observe(status, seconds) {
      const k = Math.floor(status / 100) - 1;
      if (k >= 0 && k < byClass.length) byClass[k]!++;
      duration.observe(seconds);
    },
    connection(protocol) {
      connections.inc({ protocol });
    },
    refused(code) {
      refusals.inc({ code });
    },
  };
}
