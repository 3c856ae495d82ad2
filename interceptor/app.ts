// One app (a Deployment) as this interceptor sees it while connections for it arrive: its Deployment,
// pods and EndpointSlices watched only meanwhile, the wake, the sidecars asked for readiness, and the
// Hold of its connections. Dropped when idle, so cost follows the apps being woken, not the cluster.
import { createHash } from 'node:crypto';
import type { CoreV1Event, V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { parseAnnotations, SLEPT_AT } from '../core/annotations.ts';
import { opensAtText } from '../core/awake-hours.ts';
import { clusterSettings } from '../core/cluster-defaults.ts';
import { formatDuration } from '../core/duration.ts';
import { EVENT_REASONS, eventRecorder, type EventReason, type RecordEvent } from '../core/events.ts';
import type { Logger } from '../core/log.ts';
import { needsScale, wakeReplicas } from '../core/wake.ts';
import { waitingPageOf } from '../core/waiting-page.ts';
import { AppPage } from './app-page.ts';
import { candidates, podOf, podsByName, type Candidate } from './endpoints.ts';
import { wakeFailure } from './failure.ts';
import type { Target } from './forward.ts';
import { Hold, type AppView, type HoldContext } from './hold.ts';
import { HoursGate } from './hours.ts';
import { selectorString, statusOf, type ClusterApi, type Watched } from './kube.ts';
import type { HoldSettings } from './limits.ts';
import { adminPortOf, ReadyProbe, type ReadyProbeOptions } from './readiness.ts';
import type { Refusal } from './refuse.ts';
import type { Route } from './routes.ts';
import type { PageSource } from './waiting-room.ts';

export interface AppContext {
  cluster: ClusterApi;
  hold: HoldContext;
  /** Who records Events: component and instance (the pod name). */
  source: { component: string; instance: string };
  log: Logger;
  probe?: Partial<ReadyProbeOptions>;
  /** Wake outcomes, for metrics. */
  woke(result: 'scaled' | 'lost' | 'failed'): void;
  /** From the first held connection to the first ready pod. */
  observeWake(ms: number): void;
}

/** How long a pod that refused a connect is left out, unless its sidecar confirms it sooner. */
const UNUSABLE_MS = 1000;
const SCALE_RETRY_MS = 1000;
/** How long a refused scale (RBAC, a missing Deployment) is the answer before it is tried again. */
const SCALE_FAILURE_MS = 10_000;

interface Episode {
  startedAt: number;
  failureReported: boolean;
}

export class App implements AppView {
  readonly namespace: string;
  readonly deployment: string;
  readonly name: string;
  readonly hold: Hold;
  /** Last connection, for dropping idle apps. */
  lastUsed = Date.now();
  readonly #ctx: AppContext;
  readonly #recordEvent: RecordEvent;
  readonly #log: Logger;
  readonly #deploymentWatch: Watched<V1Deployment>;
  /** The Deployment from one GET at first contact: stands in until its watch has listed. */
  #fetched: V1Deployment | undefined;
  #podWatch: Watched<V1Pod> | undefined;
  #podSelector = '';
  readonly #sliceWatches = new Map<string, Watched<V1EndpointSlice>>();
  readonly #probe: ReadyProbe;
  readonly #unusable = new Map<string, number>();
  /** Ready targets per interceptor port; recomputed on change, not per connection. */
  #targets = new Map<number, Target[]>();
  #routes = new Map<number, Route>();
  #settings: HoldSettings = clusterSettings();
  #podFailure: string | undefined;
  #scaleFailure: string | undefined;
  /** The Deployment version a scale was tried on: never twice on the same one. */
  #scaledOn: string | undefined;
  #scaling = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #episode: Episode | undefined;
  #stopped = false;
  #updateQueued = false;
  /** Pod incarnations seen in the slices at the last look (for debug logs). */
  #seen = new Set<string>();
  readonly #hours = new HoursGate();
  readonly #page: AppPage;

  constructor(namespace: string, deployment: string, ctx: AppContext) {
    this.namespace = namespace;
    this.deployment = deployment;
    this.name = `${namespace}/${deployment}`;
    this.#ctx = ctx;
    this.#log = ctx.log.child({ app: this.name });
    this.#recordEvent = eventRecorder((_namespace, event) => ctx.cluster.record(event as unknown as CoreV1Event), ctx.source, this.#log);
    this.#page = new AppPage(namespace, deployment, {
      getConfigMap: (ns, name) => ctx.cluster.getConfigMap(ns, name),
      elapsedMs: () => this.#sinceEpisode(),
      opensAt: () => opensAtText(this.#deploymentObject()?.metadata?.annotations, Date.now()),
      problem: (message) => {
        this.#log.warn({ problem: message }, 'the custom waiting page cannot be used');
        this.#record(EVENT_REASONS.waitingPageUnavailable, message);
      },
    });
    this.hold = new Hold(this, ctx.hold);
    this.#probe = new ReadyProbe((key) => {
      this.#log.debug({ pod: key, ms: this.#sinceEpisode() }, 'sidecar says ready');
      this.#changed();
    }, ctx.probe);
    // First contact: one GET (sent first, on a pooled connection) answers well before a list and watch are
    // up, so the guarded scale need not wait for them; the watch takes over once it has listed.
    const fetched = ctx.cluster.getDeployment(namespace, deployment);
    this.#deploymentWatch = ctx.cluster.deployment(namespace, deployment, () => this.#changed());
    fetched.then(
      (object) => this.#arrived(object),
      (err: unknown) => this.#log.debug({ err: (err as Error).message }, 'cannot get the Deployment; waiting for its watch'),
    );
  }

  #arrived(object: V1Deployment | undefined): void {
    if (this.#stopped || this.#deploymentWatch.hasSynced() || object === undefined) return;
    this.#fetched = object;
    this.#log.debug({ ms: this.#sinceEpisode() }, 'Deployment fetched');
    // The connection that made this App is held by now: wake from what the GET said (an awake app waits for its endpoints).
    if (this.hold.held > 0 && needsScale(object)) this.wake();
    this.#changed();
  }

  /** The interceptor ports (and Services) that lead to this app. */
  setRoutes(routes: readonly Route[]): void {
    const next = new Map(routes.map((r) => [r.port, r]));
    // A route that goes (opt-out, a re-allocation) keeps serving the connections already held on it.
    if (this.hold.held > 0) for (const [port, route] of this.#routes) if (!next.has(port)) next.set(port, route);
    this.#routes = next;
    const services = new Set([...next.values()].map((r) => r.service));
    for (const [service, watch] of this.#sliceWatches) {
      if (services.has(service)) continue;
      watch.stop();
      this.#sliceWatches.delete(service);
    }
    for (const service of services) {
      if (!this.#sliceWatches.has(service)) this.#sliceWatches.set(service, this.#ctx.cluster.slices(this.namespace, service, () => this.#changed()));
    }
    this.#changed();
  }

  // --- AppView, for the Hold ---

  /** Enough to decide: pods are not waited for, they matter only once the app is scaled. */
  get synced(): boolean {
    if (!this.#deploymentWatch.hasSynced()) return false;
    for (const watch of this.#sliceWatches.values()) if (!watch.hasSynced()) return false;
    return true;
  }

  get settingsKnown(): boolean {
    return this.#deploymentObject() !== undefined;
  }

  get settings(): HoldSettings {
    return this.#settings;
  }

  get waitingPage(): PageSource | undefined {
    return this.#page.enabled ? this.#page : undefined;
  }

  get failure(): string | undefined {
    if (this.#deploymentWatch.hasSynced() && this.#deploymentObject() === undefined) return `Deployment ${this.name} does not exist`;
    return this.#scaleFailure ?? this.#podFailure;
  }

  targets(route: Route): readonly Target[] {
    return this.#targets.get(route.port) ?? [];
  }

  unusable(target: Target): void {
    this.#unusable.set(`${target.address}:${target.port}`, Date.now() + UNUSABLE_MS);
    for (const route of this.#routes.values()) {
      for (const c of this.#candidates(route)) if (c.address === target.address) this.#probe.forget(c.key);
    }
    this.#recompute();
    // Looked at again once the pause is over, in case nothing else changes meanwhile.
    setTimeout(() => this.#changed(), UNUSABLE_MS + 10).unref();
  }

  /** Asleep (at zero) outside awake-hours with outside-hours: refuse: the 503 to answer instead of a wake. */
  closed(now = Date.now()): Refusal | undefined {
    const deployment = this.#deploymentObject();
    return deployment !== undefined && needsScale(deployment) ? this.#hours.refusal(this.name, deployment.metadata?.annotations, now) : undefined;
  }

  wake(): void {
    this.lastUsed = Date.now();
    // Connections queued behind a drain in progress are no wake of their own.
    if (this.#anyReady()) return;
    this.#episode ??= { startedAt: Date.now(), failureReported: false };
    this.#evaluate();
  }

  timedOut(): void {
    const episode = this.#episode;
    if (episode === undefined || episode.failureReported) return;
    episode.failureReported = true;
    const why = this.failure ?? 'no pod became ready';
    this.#record(EVENT_REASONS.wakeFailed, `not ready within the hold timeout of ${formatDuration(this.#settings.holdTimeoutMs)}: ${why}`);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#deploymentWatch.stop();
    this.#podWatch?.stop();
    for (const watch of this.#sliceWatches.values()) watch.stop();
    this.#probe.stop();
  }

  // --- the Kubernetes side ---

  #deploymentObject(): V1Deployment | undefined {
    if (!this.#deploymentWatch.hasSynced()) return this.#fetched;
    this.#fetched = undefined;
    return this.#deploymentWatch.list()[0];
  }

  /** The route's endpoints that are pods of this Deployment (selector, namespace and IP checked against the pod watch). */
  #candidates(route: Route, pods: ReadonlyMap<string, V1Pod> = podsByName(this.#podWatch?.list() ?? [])): Candidate[] {
    const watch = this.#sliceWatches.get(route.service);
    return watch === undefined ? [] : candidates(watch.list(), route.portName, (c) => podOf(c, pods, this.namespace) !== undefined);
  }

  /** Coalesces bursts of watch events (a list delivers one per object) into one update. */
  #changed(): void {
    if (this.#updateQueued || this.#stopped) return;
    this.#updateQueued = true;
    queueMicrotask(() => {
      this.#updateQueued = false;
      if (!this.#stopped) this.#update();
    });
  }

  #update(): void {
    const deployment = this.#deploymentObject();
    if (deployment !== undefined) {
      this.#settings = parseAnnotations(deployment.metadata?.annotations, clusterSettings()).settings;
      this.#page.configure(waitingPageOf(deployment.metadata?.annotations));
      const selector = selectorString(deployment.spec?.selector);
      if (selector !== this.#podSelector) {
        this.#podWatch?.stop();
        this.#podSelector = selector;
        this.#podWatch = this.#ctx.cluster.pods(this.namespace, selector, () => this.#changed());
      }
    }
    this.#recompute();
    this.#podFailure = this.#anyReady() ? undefined : wakeFailure(this.#podWatch?.list() ?? [], deployment);
    if (this.#podFailure !== undefined) this.#reportFailure(this.#podFailure);
    this.#evaluate();
    this.hold.update();
  }

  /**
   * Ready targets: pods of this Deployment only (selector, namespace and IP checked against the pod
   * watch), ready by the slice or by the pod's sidecar; never terminating, never just refused.
   */
  #recompute(): void {
    const now = Date.now();
    const live = new Set<string>();
    const targets = new Map<number, Target[]>();
    const pods = podsByName(this.#podWatch?.list() ?? []);
    for (const route of this.#routes.values()) {
      const ready: Target[] = [];
      // Anything else in the slices (another namespace's pod, an external address) is neither forwarded to nor probed.
      for (const c of this.#candidates(route, pods)) {
        if (c.terminating) continue;
        const pod = pods.get(c.pod!);
        if (!this.#seen.has(c.key)) this.#log.debug({ pod: c.key, ready: c.ready, ms: this.#sinceEpisode() }, 'pod address seen');
        live.add(c.key);
        // A pod that just refused a connect sits out a moment even if its sidecar answers: no tight retry loop.
        const refused = (this.#unusable.get(`${c.address}:${c.port}`) ?? 0) > now;
        if (!refused && (c.ready || this.#probe.isReady(c.key))) ready.push({ address: c.address, port: c.port });
        else if (!this.#probe.isReady(c.key)) this.#probe.probe(c.key, { address: c.address, adminPort: () => adminPortOf(pod) });
      }
      targets.set(route.port, ready);
    }
    for (const [key, until] of this.#unusable) if (until <= now) this.#unusable.delete(key);
    this.#probe.retain((key) => live.has(key));
    this.#seen = live;
    this.#targets = targets;
    if (this.#anyReady() && this.#episode !== undefined) {
      const ms = now - this.#episode.startedAt;
      this.#log.info({ ms }, 'app ready; forwarding held connections');
      this.#ctx.observeWake(ms);
      this.#episode = undefined;
    }
  }

  #sinceEpisode(): number | undefined {
    return this.#episode === undefined ? undefined : Date.now() - this.#episode.startedAt;
  }

  #anyReady(): boolean {
    for (const targets of this.#targets.values()) if (targets.length > 0) return true;
    return false;
  }

  /** Scales up when connections are held and the app is at zero, once per Deployment version. */
  #evaluate(): void {
    if (this.#scaling || this.#stopped || this.hold.held === 0 || this.#anyReady()) return;
    const deployment = this.#deploymentObject();
    if (deployment === undefined || !needsScale(deployment) || this.closed() !== undefined) return;
    const version = deployment.metadata?.resourceVersion;
    if (version !== undefined && version === this.#scaledOn) return;
    this.#scaledOn = version;
    void this.#scale(deployment);
  }

  async #scale(deployment: V1Deployment): Promise<void> {
    this.#scaling = true;
    // Every connection held so far is demand: an autoscaled app wakes to enough replicas for them at once.
    const replicas = wakeReplicas(deployment.metadata?.annotations, undefined, this.hold.held);
    const requested = new Date();
    try {
      const result = await this.#ctx.cluster.scale(this.namespace, this.deployment, replicas);
      const ms = Date.now() - requested.getTime();
      this.#ctx.woke(result);
      this.#scaleFailure = undefined;
      if (result === 'lost') this.#retryLater(); // Someone else woke it; should this view be stale, look again.
      if (result === 'scaled') {
        this.#log.info({ replicas, ms }, 'waking: scaled up from zero');
        // eventTime is when the scale was asked for: from then on, the time is the control plane's.
        this.#record(EVENT_REASONS.waking, `Scaled from 0 to ${replicas} for a held connection (the apiserver took ${ms} ms)`, requested);
        this.#ctx.cluster.markWaking(this.namespace, this.deployment).catch((err) => this.#log.warn({ err: (err as Error).message }, 'cannot mark the app waking'));
      }
    } catch (err) {
      this.#ctx.woke('failed');
      const status = statusOf(err);
      const message = (err as Error).message;
      this.#log.warn({ status, err: message }, 'cannot scale the app up');
      // Refused outright (RBAC, gone): held connections get the answer now. Otherwise try again.
      if (status === 403 || status === 404) {
        this.#scaleFailure = `cannot scale it up: ${status === 403 ? 'forbidden' : 'not found'}`;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => {
          this.#scaleFailure = undefined;
          this.#scaledOn = undefined;
        }, SCALE_FAILURE_MS);
      } else this.#retryLater();
    } finally {
      this.#scaling = false;
      this.#changed();
    }
  }

  /** Allows another scale attempt on the same Deployment version in a moment. */
  #retryLater(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#scaledOn = undefined;
      this.#changed();
    }, SCALE_RETRY_MS);
  }

  #reportFailure(failure: string): void {
    const episode = this.#episode;
    if (episode === undefined || episode.failureReported || this.hold.held === 0) return;
    episode.failureReported = true;
    this.#log.warn({ failure }, 'the app cannot come up');
    this.#record(EVENT_REASONS.wakeFailed, failure);
  }

  #record(reason: EventReason, message: string, now = new Date()): void {
    const deployment = this.#deploymentObject();
    const uid = deployment?.metadata?.uid;
    // Every replica holding for the app sees the failure: one name per sleep, so only the first is recorded.
    const slept = deployment?.metadata?.annotations?.[SLEPT_AT];
    const once = reason === EVENT_REASONS.wakeFailed && slept !== undefined ? `${this.deployment}.wakefailed-${createHash('sha256').update(`${uid}/${slept}`).digest('hex').slice(0, 12)}` : undefined;
    void this.#recordEvent({ namespace: this.namespace, name: this.deployment, ...(uid ? { uid } : {}) }, reason, message, reason === EVENT_REASONS.wakeFailed || reason === EVENT_REASONS.waitingPageUnavailable ? 'Warning' : 'Normal', { now, ...(once ? { name: once } : {}) });
  }
}
