// The leader's autoscaler (docs/design.md "Autoscaling"): once a second, for each awake app with a
// target, read its pods' load, feed the decision, and scale through the scale subresource with a
// compare-and-swap. Zero stays the sleep path's; an app an HPA scales is left to it.
import { autoscaleSettings, type AutoscaleSettings } from '../../core/autoscale-settings.ts';
import { errors, lullError } from '../../core/errors.ts';
import { EVENT_REASONS } from '../../core/events.ts';
import { isStatus } from '../../core/kube-client.ts';
import type { Logger } from '../../core/log.ts';
import type { Api } from '../api.ts';
import { stateOf } from '../../core/app-state.ts';
import type { RecordEvent } from '../../core/events.ts';
import type { Informer } from '../../core/informer.ts';
import type { ReconcilerMetrics } from '../metrics.ts';
import type { DeploymentObj } from '../../core/objects.ts';
import { livePods } from '../sleep.ts';
import { appKey, type World } from '../world.ts';
import { Decider, type Decision } from './decide.ts';
import { hpaFor, type HpaObj } from './hpa.ts';
import { totalLoad, type ReadLoad } from './load.ts';

export const AUTOSCALE_INTERVAL_MS = 1000;

export interface AutoscaleOptions {
  world: World;
  hpas: Informer<HpaObj>;
  api: Pick<Api, 'getDeployment' | 'scale'>;
  read: ReadLoad;
  record: RecordEvent;
  metrics: ReconcilerMetrics;
  logger: Logger;
  now?: () => number;
  intervalMs?: number;
}

/** What the leader knows of one autoscaled app; lost with leadership and re-learned in one window. */
interface Tracked {
  decider: Decider;
  settingsKey: string;
  /** The HPA the app was left to (its Event recorded once). */
  yieldedTo?: string;
  /** The last decision, for status and metrics. */
  last?: Decision;
  observed?: number;
  metricsMissing?: boolean;
  /** The last scale written, until the cache shows it: no second write of the same count meanwhile. */
  wrote?: { replicas: number; at: number; version: string };
}

/** How long a written scale stands in for a cache that has not seen it yet. */
const WRITE_SETTLE_MS = 5000;

export interface AutoscaleView {
  key: string;
  target: number;
  metric: string;
  observed: number | undefined;
  desired: number | undefined;
  panicking: boolean;
  hpa: string | undefined;
}

export class Autoscaler {
  readonly #o: AutoscaleOptions;
  readonly #apps = new Map<string, Tracked>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: AutoscaleOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#o.intervalMs ?? AUTOSCALE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const key of this.#apps.keys()) this.#forget(key);
  }

  /** One pass over every autoscaled app. A pass still running when the next is due makes that one skip. */
  async tick(): Promise<void> {
    if (this.#running) {
      this.#o.metrics.autoscaleSkippedTicks.inc();
      return;
    }
    this.#running = true;
    const started = performance.now();
    try {
      const seen = new Set<string>();
      const work: Promise<void>[] = [];
      for (const d of this.#o.world.informers.deployments.list()) {
        const settings = autoscaleSettings(d.metadata.annotations);
        if (settings === undefined) continue;
        const key = appKey(d.metadata.namespace ?? '', d.metadata.name);
        seen.add(key);
        work.push(this.#one(key, d, settings).catch((err: unknown) => this.#o.logger.warn({ app: key, err: (err as Error).message }, 'autoscale pass failed')));
      }
      await Promise.all(work);
      for (const key of this.#apps.keys()) if (!seen.has(key)) this.#forget(key);
    } finally {
      this.#running = false;
      this.#o.metrics.autoscaleTickDuration.observe((performance.now() - started) / 1000);
    }
  }

  /** For the status server and tests. */
  views(): AutoscaleView[] {
    const out: AutoscaleView[] = [];
    for (const [key, t] of this.#apps) {
      out.push({ key, target: t.decider.settings.target, metric: t.decider.settings.metric, observed: t.observed, desired: t.last?.desired, panicking: t.last?.panicking ?? false, hpa: t.yieldedTo });
    }
    return out;
  }

  #track(key: string, settings: AutoscaleSettings): Tracked {
    const settingsKey = JSON.stringify(settings);
    let t = this.#apps.get(key);
    if (t === undefined) this.#apps.set(key, (t = { decider: new Decider(settings), settingsKey }));
    else if (t.settingsKey !== settingsKey) {
      // New settings apply at once; the load seen so far still counts.
      t.decider.settings = settings;
      t.settingsKey = settingsKey;
    }
    return t;
  }

  #forget(key: string): void {
    this.#apps.delete(key);
    const [namespace, deployment] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    this.#o.metrics.autoscaleObserved.remove({ namespace, deployment });
    this.#o.metrics.autoscaleDesired.remove({ namespace, deployment });
  }

  async #one(key: string, d: DeploymentObj, settings: AutoscaleSettings): Promise<void> {
    const { world, hpas, metrics } = this.#o;
    const namespace = d.metadata.namespace ?? '';
    const name = d.metadata.name;
    if (!d.injected || world.membership(d) !== 'in') return;
    const t = this.#track(key, settings);

    // Coexistence: an HPA on the same Deployment owns 1 → N; say so once, not every second.
    if (!hpas.hasSynced()) return;
    const hpa = hpaFor(hpas.list(namespace), name);
    if (hpa !== undefined) {
      if (t.yieldedTo !== hpa.metadata.name) {
        t.yieldedTo = hpa.metadata.name;
        this.#o.record({ namespace, name, uid: d.metadata.uid }, EVENT_REASONS.autoscaleYielded, lullError(errors.hpaPresent, hpa.metadata.name).message);
      }
      return;
    }
    t.yieldedTo = undefined;

    // Only with replicas: zero, and the way to and from it, belong to the sleep and wake paths. A waking app
    // is scaled too, so the connections held through its wake count as soon as its first pod serves them.
    // state=sleeping with replicas is a sleep under way (or a user's scale): left to those paths.
    if (d.replicas === 0 || stateOf(d) === 'sleeping') return;

    // Ready pods only: one still starting serves nothing, and counting it as failed would extrapolate load it does not have.
    const pods = livePods(world.pods(namespace, name)).filter((p) => p.ready);
    const answers = await Promise.all(pods.map((p) => this.#o.read(p)));
    for (const a of answers) metrics.autoscaleLoadQueries.inc({ outcome: 'error' in a ? 'failed' : 'ok' });
    const load = totalLoad(answers, settings.metric);
    const now = this.#now();
    if (load === undefined) {
      if (!t.metricsMissing) this.#o.logger.info({ app: key }, lullError(errors.autoscaleMetricsMissing, key, answers.map((a) => ('error' in a ? `${a.pod}: ${a.error}` : a.pod)).join('; ') || 'no pod').message);
      t.metricsMissing = true;
      return;
    }
    t.metricsMissing = false;
    t.observed = load.total;
    t.decider.record(now, load.total);
    const ready = pods.length;
    const pending = t.wrote !== undefined && t.wrote.version === d.metadata.resourceVersion && now - t.wrote.at < WRITE_SETTLE_MS;
    if (!pending) t.wrote = undefined;
    const current = pending ? t.wrote!.replicas : d.replicas;
    const decision = t.decider.decide(now, current, ready);
    if (decision === undefined) return;
    t.last = decision;
    metrics.autoscaleObserved.set({ namespace, deployment: name }, load.total);
    metrics.autoscaleDesired.set({ namespace, deployment: name }, decision.desired);
    if (decision.desired === current) return;
    if (await this.#scale(d, decision, current)) t.wrote = { replicas: decision.desired, at: now, version: d.metadata.resourceVersion };
  }

  /** A compare-and-swap on the Deployment, as the sleep's: a fresh read if the cache was behind, never over a sleep or a wake. */
  async #scale(d: DeploymentObj, decision: Decision, from: number): Promise<boolean> {
    const namespace = d.metadata.namespace ?? '';
    const name = d.metadata.name;
    let version = d.metadata.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.api.scale(namespace, name, decision.desired, version);
        break;
      } catch (err) {
        if (!isStatus(err, 409) || attempt >= 2) throw err;
        // Usually only its status moved; go on only if replicas and state did not.
        const fresh = await this.#o.api.getDeployment(namespace, name);
        if (fresh === undefined || fresh.replicas !== from || fresh.replicas === 0 || stateOf(fresh) === 'sleeping') return false;
        version = fresh.metadata.resourceVersion;
      }
    }
    const up = decision.desired > from;
    this.#o.metrics.autoscaleScales.inc({ direction: up ? 'up' : 'down' });
    this.#o.record({ namespace, name, uid: d.metadata.uid }, up ? EVENT_REASONS.scaledUp : EVENT_REASONS.scaledDown, `Scaled from ${from} to ${decision.desired}: ${decision.reason}`);
    return true;
  }
}
