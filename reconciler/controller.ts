// The leader's loop: informer events and deadlines put app keys on the work queue, workers reconcile
// them. Standbys keep their caches (and the port table) warm but do nothing else.
import type { AppState } from '../core/annotations.ts';
import { SERVICE_NAME_LABEL } from '../core/interceptor-contract.ts';
import { isStatus } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';
import { stateOf } from './app.ts';
import { newMemory, type AppMemory, type Context } from './context.ts';
import { Deadlines, type Clock, systemClock } from './deadlines.ts';
import type { Change } from '../core/informer.ts';
import type { ReconcilerMetrics } from './metrics.ts';
import type { DeploymentObj, NamespaceObj, PodObj, RecordObj, ServiceObj, SliceObj } from '../core/objects.ts';
import { PortTable } from './ports.ts';
import { reconcile } from './reconcile.ts';
import { WorkQueue } from './queue.ts';
import { SliceWrites } from './slice-writes.ts';
import { isInterceptorSlice, readyInterceptors, sameInterceptors, type InterceptorEndpoint } from './slices.ts';
import { appKey, type World } from './world.ts';

export interface ControllerOptions extends Omit<Context, 'deadlines' | 'ports' | 'sliceWrites' | 'interceptors' | 'memory' | 'now'> {
  workers: number;
  clock?: Clock;
}

export class Controller {
  readonly ctx: Context;
  readonly queue: WorkQueue;
  readonly #memory = new Map<string, AppMemory>();
  readonly #world: World;
  readonly #logger: Logger;
  readonly #metrics: ReconcilerMetrics;
  #leading = false;
  #interceptors: InterceptorEndpoint[] | undefined;

  constructor(options: ControllerOptions) {
    const clock = options.clock ?? systemClock;
    this.#world = options.world;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    const deadlines = new Deadlines((key) => this.queue.add(key), clock);
    this.ctx = {
      ...options,
      deadlines,
      ports: new PortTable(() => clock.now()),
      sliceWrites: new SliceWrites(() => clock.now()),
      interceptors: () => (this.#interceptors ??= readyInterceptors(options.world.informers.interceptors.list())),
      memory: (key) => {
        let m = this.#memory.get(key);
        if (m === undefined) this.#memory.set(key, (m = newMemory()));
        return m;
      },
      now: () => clock.now(),
    };
    this.queue = new WorkQueue({
      workers: options.workers,
      work: (key) => this.#work(key),
      onError: (key, err, retryMs) => {
        // A conflict means the cache was behind a write: routine, and the retry reads the news.
        const level = isStatus(err, 409) ? 'debug' : 'warn';
        this.#logger[level]({ app: key, err: (err as Error).message ?? String(err), retryMs }, 'reconcile failed; retrying');
      },
    });
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Leadership won: every app is looked at once, then events and deadlines drive. */
  start(): void {
    this.#leading = true;
    this.queue.start();
    const keys = new Set<string>();
    for (const d of this.#world.informers.deployments.list()) keys.add(appKey(d.metadata.namespace ?? '', d.metadata.name));
    // Routes of Deployments (or Services) deleted while nobody led.
    for (const key of this.ctx.ports.apps()) keys.add(key);
    for (const key of keys) this.queue.add(key);
    this.#logger.info({ apps: keys.size }, 'leading: reconciling every app');
  }

  /** Leadership lost: stop at once and forget what only a leader knows. */
  stop(): void {
    this.#leading = false;
    this.queue.stop();
    this.ctx.deadlines.clear();
    this.ctx.sliceWrites.clear();
    this.#memory.clear();
  }

  /** Counted from the caches, so standbys report too. */
  appsByState(): Record<AppState, number> {
    const counts: Record<AppState, number> = { awake: 0, sleeping: 0, waking: 0 };
    for (const d of this.#world.informers.deployments.list()) {
      if (!d.injected || this.#world.membership(d) !== 'in') continue;
      counts[stateOf(d) ?? 'awake']++;
    }
    return counts;
  }

  // Informer events, wired by main.ts.
  onNamespace = (_change: Change, ns: NamespaceObj): void => {
    if (!this.#leading) return;
    for (const d of this.#world.informers.deployments.list(ns.metadata.name)) this.queue.add(appKey(ns.metadata.name, d.metadata.name));
  };

  onDeployment = (_change: Change, d: DeploymentObj): void => {
    if (this.#leading) this.queue.add(appKey(d.metadata.namespace ?? '', d.metadata.name));
  };

  onService = (_change: Change, s: ServiceObj): void => {
    if (this.#leading) for (const app of this.#appsOfService(s)) this.queue.add(app);
  };

  /** The route records: standbys keep the PortTable warm too, so a new leader allocates from a full picture. */
  onRoute = (change: Change, r: RecordObj): void => {
    if (r.port === undefined) return;
    const previous = this.ctx.ports.observe(r.port, change === 'delete' ? undefined : r.record);
    this.#metrics.interceptorPorts.set(this.ctx.ports.size);
    if (!this.#leading) return;
    for (const record of [previous, change === 'delete' ? undefined : r.record]) if (record) this.queue.add(appKey(record.namespace, record.deployment));
  };

  #appsOfService(s: ServiceObj): string[] {
    return [...this.#world.appsOfService(s), ...this.ctx.ports.appsOf(appKey(s.metadata.namespace ?? '', s.metadata.name))];
  }

  onSlice = (_change: Change, slice: SliceObj): void => {
    if (!this.#leading) return;
    const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    const service = name ? this.#world.informers.services.get(slice.metadata.namespace ?? '', name) : undefined;
    if (service) for (const app of this.#appsOfService(service)) this.queue.add(app);
  };

  onPod = (_change: Change, pod: PodObj): void => {
    if (this.#leading && pod.deployment) this.queue.add(appKey(pod.metadata.namespace ?? '', pod.deployment));
  };

  onInterceptor = (): void => {
    const before = this.#interceptors;
    this.#interceptors = undefined;
    // Most interceptor pod updates (status heartbeats) change no endpoint: no slice needs a look then.
    if (!this.#leading || (before !== undefined && sameInterceptors(before, this.ctx.interceptors()))) return;
    // Every slice follows the interceptor pods; apps held back for want of an interceptor may sleep now.
    for (const slice of this.#world.informers.slices.list()) {
      if (!isInterceptorSlice(slice)) continue;
      const service = this.#world.informers.services.get(slice.metadata.namespace ?? '', slice.metadata.labels?.[SERVICE_NAME_LABEL] ?? '');
      if (service) for (const app of this.#appsOfService(service)) this.queue.add(app);
    }
    for (const [key, memory] of this.#memory) if (memory.blocked) this.queue.add(key);
  };

  async #work(key: string): Promise<void> {
    if (!this.#leading) return;
    const started = performance.now();
    try {
      const outcome = await reconcile(this.ctx, key);
      if (outcome.gone) {
        this.#memory.delete(key);
        this.ctx.deadlines.cancel(key);
      } else if (outcome.nextAt !== undefined) {
        this.ctx.deadlines.schedule(key, outcome.nextAt);
      } else {
        this.ctx.deadlines.cancel(key);
      }
      this.#metrics.reconciles.inc({ outcome: 'ok' });
    } catch (err) {
      this.#metrics.reconciles.inc({ outcome: 'error' });
      throw err;
    } finally {
      this.#metrics.reconcileDuration.observe((performance.now() - started) / 1000);
    }
  }
}
