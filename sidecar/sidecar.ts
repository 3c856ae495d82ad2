// Builds one sidecar from its settings: a listener per fronted port, the prober and the admin server.
// main.ts only reads the environment and signals; tests start sidecars in-process through this.
// Start-up order is a waking request's: probe and listen first; prom-client loads after the wake.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import { SIDECAR_MAX_LONG_POLLS, type SidecarBoot } from '../core/sidecar-contract.ts';
import { Activity } from './activity.ts';
import { Load } from './load.ts';
import { createAdminServer } from './admin.ts';
import { ClientSockets } from './clients.ts';
import type { PortMapping, SidecarConfig } from './config.ts';
import { DeferredMetrics } from './deferred-metrics.ts';
import { Drainer, lingerFor, type DrainOptions, type DrainResult } from './drain.ts';
import type { HttpConnection } from './forward.ts';
import { createListener } from './listener.ts';
import { peerClassifier } from './peers.ts';
import { Readiness, READINESS_DEFAULTS, startProber, type ReadinessOptions } from './readiness.ts';
import { POOL_DEFAULTS, UpstreamPool, type PoolOptions } from './upstream.ts';
import { SIDECAR_LIMITS } from '../core/sidecar-contract.ts';

export interface StartOptions {
  /** Address to accept on; all interfaces when absent (the kubelet and Services reach the pod IP). */
  listenHost?: string;
  readiness?: Partial<ReadinessOptions>;
  pool?: Partial<PoolOptions>;
  /** False makes loopback clients count as remote ones (tests play other pods from 127.0.0.1). */
  loopbackIsLocal?: boolean;
  /** Wait-ready polls held at once (SIDECAR_MAX_LONG_POLLS). */
  maxLongPolls?: number;
}

export interface RunningSidecar {
  /** Fronted ports as bound (listen is the real port when 0 was asked for). */
  ports: PortMapping[];
  adminPort: number;
  activity: Activity;
  readiness: Readiness;
  /** Waits for a quiet period (see drain.ts); while draining, HTTP responses carry `Connection: close`. */
  drain(options?: Partial<DrainOptions>): Promise<DrainResult>;
  /** Stops accepting, ends idle connections, and waits (up to `graceMs`) for the rest before cutting them. */
  close(graceMs?: number): Promise<void>;
  /** SIGTERM: drain, then close. */
  shutdown(): Promise<DrainResult>;
  /** When the start-up steps happened (also in /lull/activity). */
  boot: SidecarBoot;
  /**
   * Resolves once the wake is over (the app ready a moment, or /metrics asked for, or the app slow to come
   * up): the time to load what serving did not need. The metrics library is loaded by then.
   */
  afterWake: Promise<void>;
}

/** The app has been ready this long: the held requests are forwarded, libraries may load. */
export const LIBRARIES_AFTER_READY_MS = 1000;
/** An app that does not come up still gets its metrics after this long. */
export const LIBRARIES_AT_LATEST_MS = 10_000;
/** While the app is not ready: a refused local connect costs microseconds, and each ms is a waking request's. */
const WAKE_PROBE_MS = 1;

async function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  server.listen({ port, host, backlog: 4096 });
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Epoch ms, fractional: comparable across the pod's processes and the node. */
function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export async function startSidecar(config: SidecarConfig, options: StartOptions = {}): Promise<RunningSidecar> {
  const boot: SidecarBoot = { processStartedAt: performance.timeOrigin, listeningAt: 0, appReadyAt: 0 };
  const activity = new Activity();
  const readiness = new Readiness();
  const loadSampler = new Load(activity);
  readiness.onChange((ready) => {
    if (ready && boot.appReadyAt === 0) boot.appReadyAt = epochNow();
    // Sampling starts once the app is ready: no timer on the wake path.
    if (ready) loadSampler.start();
  });
  const clients = new ClientSockets();
  const metrics = new DeferredMetrics(async () => (await import('./metrics.ts')).createMetrics(activity, clients, () => readiness.ready));
  const connections = new Set<HttpConnection>();
  const closeIdle = () => {
    for (const conn of connections) conn.closeIfIdle();
  };
  const drainer = new Drainer(activity, { quietMs: config.drainQuietMs, maxMs: config.drainMaxMs }, lingerFor(config.drainMaxMs), closeIdle);
  let stopping = false;
  const isDraining = () => stopping || drainer.draining;
  const peer = peerClassifier({ nodeAddresses: config.nodeAddresses ?? [], loopbackIsLocal: options.loopbackIsLocal ?? true });
  const poolOptions = { ...POOL_DEFAULTS, ...options.pool };
  const limits = { ...SIDECAR_LIMITS, ...config.limits };

  const pools: UpstreamPool[] = [];
  const listeners: Server[] = [];
  const ports: PortMapping[] = [];
  const stopProber = startProber(config.readiness, readiness, { ...READINESS_DEFAULTS, fastMs: WAKE_PROBE_MS, ...options.readiness });
  const drainWith = async (o: Partial<DrainOptions> = {}, final = false): Promise<DrainResult> => {
    const result = await (final ? drainer.final() : drainer.start(o));
    // Keep-alive connections that stayed idle all along would otherwise be used after the app stops.
    closeIdle();
    return result;
  };
  const admin = createAdminServer({
    snapshot: () => {
      const last = loadSampler.last;
      return { ...activity.snapshot(readiness.ready, isDraining()), boot, ...(last ? { load: last } : {}) };
    },
    readiness,
    drain: drainWith,
    registry: metrics.exposition(),
    peer,
    drainToken: config.drainToken,
    drainMaxMs: config.drainMaxMs,
    maxLongPolls: options.maxLongPolls ?? SIDECAR_MAX_LONG_POLLS,
  });

  let adminPort: number;
  try {
    const listening: Promise<number>[] = [];
    for (const mapping of config.ports) {
      const pool = new UpstreamPool(config.appHost, mapping.app, poolOptions);
      const server = createListener({ activity, metrics, pool, appPort: mapping.app, isDraining, connections, clients, peer, limits });
      pools.push(pool);
      listeners.push(server);
      listening.push(listen(server, mapping.listen, options.listenHost));
    }
    // All bound in the same turn: one wait, not one per port.
    const adminListening = listen(admin, config.adminPort, options.listenHost);
    const bound = await Promise.all(listening);
    config.ports.forEach((mapping, i) => ports.push({ listen: bound[i]!, app: mapping.app }));
    adminPort = await adminListening;
    boot.listeningAt = epochNow();
  } catch (err) {
    stopProber();
    for (const server of listeners) server.close();
    admin.close();
    throw err;
  }

  // No timer on the wake path: these only decide when the metrics library loads, after serving began.
  let libraryTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const afterWake = new Promise<void>((resolve) => {
    const load = () => {
      clearTimeout(libraryTimer);
      metrics.attach().catch(() => undefined);
    };
    void metrics.attached.then(() => {
      clearTimeout(libraryTimer);
      resolve();
    });
    libraryTimer = setTimeout(load, LIBRARIES_AT_LATEST_MS).unref();
    let scheduled = false;
    const whenReady = () => {
      if (scheduled || metrics.loaded || closing !== undefined) return;
      scheduled = true;
      clearTimeout(libraryTimer);
      libraryTimer = setTimeout(load, LIBRARIES_AFTER_READY_MS).unref();
    };
    if (readiness.ready) whenReady();
    else readiness.onChange((ready) => ready && whenReady());
  });

  const close = (graceMs = 5000): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      drainer.stop();
      stopProber();
      loadSampler.stop();
      clearTimeout(libraryTimer);
      const closed = Promise.all(listeners.map((s) => new Promise((resolve) => s.close(resolve))));
      for (const conn of connections) conn.closeIfIdle();
      if (activity.requestsInFlight > 0) {
        await Promise.race([activity.noRequestsInFlight(), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      }
      clients.destroyAll();
      for (const pool of pools) pool.close();
      await closed;
      admin.closeAllConnections();
      await new Promise((resolve) => admin.close(resolve));
    })();
    return closing;
  };

  return {
    ports,
    adminPort,
    activity,
    readiness,
    drain: drainWith,
    close,
    boot,
    afterWake,
    async shutdown() {
      const result = await drainWith({}, true);
      await close();
      return result;
    },
  };
}
