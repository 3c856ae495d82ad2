// Builds one sidecar from its settings: a listener per fronted port, the prober and the admin server.
// main.ts only reads the environment and signals; tests start sidecars in-process through this.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import { SIDECAR_MAX_LONG_POLLS } from '../core/sidecar-contract.ts';
import { Activity } from './activity.ts';
import { createAdminServer } from './admin.ts';
import { ClientSockets } from './clients.ts';
import type { PortMapping, SidecarConfig } from './config.ts';
import { Drainer, lingerFor, type DrainOptions, type DrainResult } from './drain.ts';
import type { HttpConnection } from './forward.ts';
import { createListener } from './listener.ts';
import { createMetrics } from './metrics.ts';
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
}

async function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  server.listen({ port, host, backlog: 4096 });
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export async function startSidecar(config: SidecarConfig, options: StartOptions = {}): Promise<RunningSidecar> {
  const activity = new Activity();
  const readiness = new Readiness();
  const clients = new ClientSockets();
  const metrics = createMetrics(activity, clients, () => readiness.ready);
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
  const stopProber = startProber(config.readiness, readiness, { ...READINESS_DEFAULTS, ...options.readiness });
  const drainWith = async (o: Partial<DrainOptions> = {}, final = false): Promise<DrainResult> => {
    const result = await (final ? drainer.final() : drainer.start(o));
    // Keep-alive connections that stayed idle all along would otherwise be used after the app stops.
    closeIdle();
    return result;
  };
  const admin = createAdminServer({
    snapshot: () => activity.snapshot(readiness.ready, isDraining()),
    readiness,
    drain: drainWith,
    registry: metrics.registry,
    peer,
    drainToken: config.drainToken,
    drainMaxMs: config.drainMaxMs,
    maxLongPolls: options.maxLongPolls ?? SIDECAR_MAX_LONG_POLLS,
  });

  let adminPort: number;
  try {
    for (const mapping of config.ports) {
      const pool = new UpstreamPool(config.appHost, mapping.app, poolOptions);
      const server = createListener({ activity, metrics, pool, appPort: mapping.app, isDraining, connections, clients, peer, limits });
      pools.push(pool);
      listeners.push(server);
      ports.push({ listen: await listen(server, mapping.listen, options.listenHost), app: mapping.app });
    }
    adminPort = await listen(admin, config.adminPort, options.listenHost);
  } catch (err) {
    stopProber();
    for (const server of listeners) server.close();
    admin.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5000): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      drainer.stop();
      stopProber();
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
    async shutdown() {
      const result = await drainWith({}, true);
      await close();
      return result;
    },
  };
}
