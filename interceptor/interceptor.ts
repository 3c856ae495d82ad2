// Builds one interceptor: routes from the route records' watch, a listener per allocated port, an App per
// app with connections lately, and the admin server. main.ts only reads flags and signals; tests
// start interceptors in-process through this, with a fake ClusterApi.
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:http';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { MAX_HELD_LIMIT } from '../core/annotations.ts';
import type { Logger } from '../core/log.ts';
import { createAdminServer } from './admin.ts';
import { App } from './app.ts';
import { Totals, type HoldContext } from './hold.ts';
import type { ClusterApi, Watched } from './kube.ts';
import { Listeners } from './listeners.ts';
import { createMetrics, type InterceptorMetrics } from './metrics.ts';
import type { ReadyProbeOptions } from './readiness.ts';
import { appKey, routeTable, type Route } from './routes.ts';

export interface InterceptorOptions {
  cluster: ClusterApi;
  log: Logger;
  /** Address the interceptor ports accept on; all interfaces when absent. */
  host?: string;
  adminPort: number;
  adminHost?: string;
  /** Cap on connections held by this interceptor, over all apps. */
  maxHeldTotal: number;
  /** Cap on connections held for the apps of one namespace (its share of maxHeldTotal). */
  maxHeldPerNamespace: number;
  /** Connects in flight per app while forwarding held connections. */
  maxConnecting: number;
  /** How long an app stays watched after its last connection. */
  appLingerMs: number;
  /** Who records Events. */
  source: { component: string; instance: string };
  probe?: Partial<ReadyProbeOptions>;
}

export const DEFAULTS = { maxHeldTotal: MAX_HELD_LIMIT, maxHeldPerNamespace: '25%', maxConnecting: 512, appLingerMs: 120_000 } as const;

export interface RunningInterceptor {
  adminPort: number;
  metrics: InterceptorMetrics;
  /** Interceptor ports listened on now. */
  ports(): number[];
  /** undefined when ready; otherwise why not. */
  notReady(): string | undefined;
  /** Apps watched now, by namespace/deployment. */
  apps: ReadonlyMap<string, App>;
  /** Resolves after the route table has been applied to the listeners (tests wait on this). */
  settled(): Promise<void>;
  /** SIGTERM: unready at once, keep serving `delayMs`, stop accepting, let held connections go until `graceMs`. */
  shutdown(delayMs: number, graceMs: number): Promise<void>;
}

export async function startInterceptor(options: InterceptorOptions): Promise<RunningInterceptor> {
  const { cluster, log } = options;
  const apps = new Map<string, App>();
  const total = new Totals();
  let routes = new Map<number, Route>();
  let problems = '';
  let stopping = false;
  let applied = false;

  const listeners = new Listeners(accept, options.host);
  const metrics = createMetrics({ held: () => total.held, listeners: () => listeners.ports.length, apps: () => apps.size });
  const holdContext: HoldContext = {
    total,
    caps: { maxTotal: options.maxHeldTotal, maxPerNamespace: Math.min(options.maxHeldPerNamespace, options.maxHeldTotal) },
    maxConnecting: options.maxConnecting,
    count: metrics.count,
    observeHeld: metrics.observeHeld,
  };

  function routesOf(key: string): Route[] {
    return [...routes.values()].filter((r) => appKey(r.namespace, r.deployment) === key);
  }

  function accept(socket: Socket, port: number): void {
    const route = routes.get(port);
    if (route === undefined) return void socket.destroy(); // The route went away as it connected.
    const key = appKey(route.namespace, route.deployment);
    let app = apps.get(key);
    if (app === undefined) {
      app = new App(route.namespace, route.deployment, {
        cluster,
        hold: holdContext,
        source: options.source,
        log,
        ...(options.probe ? { probe: options.probe } : {}),
        woke: metrics.woke,
        observeWake: metrics.observeWake,
      });
      apps.set(key, app);
      app.setRoutes(routesOf(key));
    }
    app.lastUsed = Date.now();
    app.hold.accept(socket, route);
  }

  // Routes: recomputed from every route record (coalesced), then listeners and apps follow.
  let pending: Promise<void> | undefined;
  let again = false;
  const apply = async () => {
    const table = routeTable(records.list());
    routes = new Map(table.byPort);
    const text = table.problems.join('; ');
    if (text !== problems && text !== '') log.warn({ problems: table.problems }, 'some route records cannot be used');
    problems = text;
    if (!stopping) {
      const result = await listeners.sync(routes.keys());
      if (result.opened.length || result.closed.length) log.info({ opened: result.opened, closed: result.closed, listening: listeners.ports.length }, 'interceptor ports changed');
      if (result.failed.length) log.error({ failed: result.failed }, 'cannot listen on some interceptor ports');
    }
    for (const [key, app] of apps) app.setRoutes(routesOf(key));
    applied = true;
  };
  const reapply = (): Promise<void> => {
    if (pending) {
      again = true;
      return pending;
    }
    pending = (async () => {
      do {
        again = false;
        await apply();
      } while (again);
      pending = undefined;
    })();
    return pending;
  };
  const records: Watched<V1ConfigMap> = cluster.routes(() => void reapply());

  // Idle apps stop being watched.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, app] of apps) {
      if (app.hold.idle && now - app.lastUsed > options.appLingerMs) {
        app.stop();
        apps.delete(key);
      }
    }
  }, Math.min(10_000, options.appLingerMs));
  sweep.unref();

  const notReady = (): string | undefined => {
    if (stopping) return 'shutting down';
    if (!records.hasSynced()) return 'route records not listed yet';
    if (!applied) return 'interceptor ports not opened yet';
    return undefined;
  };
  const admin = createAdminServer(notReady, metrics.registry);
  admin.listen({ port: options.adminPort, host: options.adminHost });
  await once(admin as Server, 'listening');

  return {
    adminPort: (admin.address() as AddressInfo).port,
    metrics,
    ports: () => listeners.ports,
    notReady,
    apps,
    settled: async () => {
      while (pending) await pending;
    },
    async shutdown(delayMs, graceMs) {
      stopping = true;
      const deadline = Date.now() + graceMs;
      // Endpoints forget an unready pod only after a while: keep serving what still comes meanwhile.
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await listeners.close();
      records.stop();
      // Held connections go as their app wakes, forwarded ones as they finish; the rest are cut at the deadline.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([total.quiet(), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      for (const app of apps.values()) {
        app.hold.stop();
        app.stop();
      }
      clearInterval(sweep);
      admin.closeAllConnections();
      await new Promise((resolve) => admin.close(resolve));
    },
  };
}
