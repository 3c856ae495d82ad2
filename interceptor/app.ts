// One app (a Deployment) as this interceptor sees it while connections for it arrive, in the activator's
// parts: its backends (backends.ts), its wake (waker.ts), its Events (reporter.ts), and the Hold of its
// connections. Dropped when idle, so cost follows the apps being woken, not the cluster.
import { parseAnnotations } from '../core/annotations.ts';
import { opensAtText } from '../core/awake-hours.ts';
import { clusterSettings } from '../core/cluster-defaults.ts';
import { formatDuration } from '../core/duration.ts';
import type { Logger } from '../core/log.ts';
import { waitingPageOf } from '../core/waiting-page.ts';
import { AppPage } from './app-page.ts';
import { Backends } from './backends.ts';
import type { Target } from './forward.ts';
import { Hold, type AppView, type HoldContext } from './hold.ts';
import { HoursGate } from './hours.ts';
import type { ClusterApi } from './kube.ts';
import type { HoldSettings } from './limits.ts';
import type { ReadyProbeOptions } from './readiness.ts';
import type { Refusal } from './refuse.ts';
import { reporter, type Reporter } from './reporter.ts';
import type { Route } from './routes.ts';
import { needsScale } from '../core/wake.ts';
import type { PageSource } from './waiting-room.ts';
import { Waker } from './waker.ts';

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

/** One wake, from the first held connection to the first ready pod. */
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
  readonly #log: Logger;
  readonly #backends: Backends;
  readonly #waker: Waker;
  readonly #report: Reporter;
  #routes = new Map<number, Route>();
  #settings: HoldSettings = clusterSettings();
  #podFailure: string | undefined;
  #episode: Episode | undefined;
  #stopped = false;
  #updateQueued = false;
  readonly #hours = new HoursGate();
  readonly #page: AppPage;

  constructor(namespace: string, deployment: string, ctx: AppContext) {
    this.namespace = namespace;
    this.deployment = deployment;
    this.name = `${namespace}/${deployment}`;
    this.#ctx = ctx;
    this.#log = ctx.log.child({ app: this.name });
    this.#page = new AppPage(namespace, deployment, {
      getConfigMap: (ns, name) => ctx.cluster.getConfigMap(ns, name),
      elapsedMs: () => this.#sinceEpisode(),
      opensAt: () => opensAtText(this.#backends.deployment?.metadata?.annotations, Date.now()),
      problem: (message) => {
        this.#log.warn({ problem: message }, 'the custom waiting page cannot be used');
        this.#report.waitingPageUnavailable(message);
      },
    });
    this.hold = new Hold(this, ctx.hold);
    const changed = () => this.#changed();
    this.#report = reporter(namespace, deployment, { cluster: ctx.cluster, source: ctx.source, log: this.#log }, () => this.#backends.deployment);
    this.#waker = new Waker(namespace, deployment, { cluster: ctx.cluster, log: this.#log, report: this.#report, woke: ctx.woke }, changed);
    // First contact: one GET answers well before a list and watch are up, so the guarded scale need not wait for them.
    this.#backends = new Backends(namespace, deployment, { cluster: ctx.cluster, log: this.#log, ...(ctx.probe ? { probe: ctx.probe } : {}) }, changed, () => this.#sinceEpisode());
    this.#backends.fetching.then(
      (object) => {
        if (this.#stopped || !this.#backends.useFetched(object)) return;
        this.#log.debug({ ms: this.#sinceEpisode() }, 'Deployment fetched');
        // The connection that made this App is held by now: wake from what the GET said (an awake app waits for its endpoints).
        if (this.hold.held > 0 && needsScale(object!)) this.wake();
        this.#changed();
      },
      (err: unknown) => this.#log.debug({ err: (err as Error).message }, 'cannot get the Deployment; waiting for its watch'),
    );
  }

  /** The interceptor ports (and Services) that lead to this app. */
  setRoutes(routes: readonly Route[]): void {
    const next = new Map(routes.map((r) => [r.port, r]));
    // A route that goes (opt-out, a re-allocation) keeps serving the connections already held on it.
    if (this.hold.held > 0) for (const [port, route] of this.#routes) if (!next.has(port)) next.set(port, route);
    this.#routes = next;
    this.#backends.follow(new Set([...next.values()].map((r) => r.service)));
    this.#changed();
  }

  // --- AppView, for the Hold ---

  get synced(): boolean {
    return this.#backends.synced;
  }

  get settingsKnown(): boolean {
    return this.#backends.deployment !== undefined;
  }

  get settings(): HoldSettings {
    return this.#settings;
  }

  get waitingPage(): PageSource | undefined {
    return this.#page.enabled ? this.#page : undefined;
  }

  get failure(): string | undefined {
    if (this.#backends.missing) return `Deployment ${this.name} does not exist`;
    return this.#waker.failure ?? this.#podFailure;
  }

  targets(route: Route): readonly Target[] {
    return this.#backends.targets(route.port);
  }

  unusable(target: Target): void {
    this.#backends.unusable(target, this.#routes.values());
  }

  /** Asleep (at zero) outside awake-hours with outside-hours: refuse: the 503 to answer instead of a wake. */
  closed(now = Date.now()): Refusal | undefined {
    const deployment = this.#backends.deployment;
    return deployment !== undefined && needsScale(deployment) ? this.#hours.refusal(this.name, deployment.metadata?.annotations, now) : undefined;
  }

  wake(): void {
    this.lastUsed = Date.now();
    // Connections queued behind a drain in progress are no wake of their own.
    if (this.#backends.anyReady()) return;
    this.#episode ??= { startedAt: Date.now(), failureReported: false };
    this.#evaluate();
  }

  timedOut(): void {
    const episode = this.#episode;
    if (episode === undefined || episode.failureReported) return;
    episode.failureReported = true;
    const why = this.failure ?? 'no pod became ready';
    this.#report.wakeFailed(`not ready within the hold timeout of ${formatDuration(this.#settings.holdTimeoutMs)}: ${why}`);
  }

  stop(): void {
    this.#stopped = true;
    this.#waker.stop();
    this.#backends.stop();
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
    const deployment = this.#backends.deployment;
    if (deployment !== undefined) {
      this.#settings = parseAnnotations(deployment.metadata?.annotations, clusterSettings()).settings;
      this.#page.configure(waitingPageOf(deployment.metadata?.annotations));
    }
    this.#backends.refresh(this.#routes.values());
    const ready = this.#backends.anyReady();
    if (ready && this.#episode !== undefined) {
      const ms = Date.now() - this.#episode.startedAt;
      this.#log.info({ ms }, 'app ready; forwarding held connections');
      this.#ctx.observeWake(ms);
      this.#episode = undefined;
    }
    this.#podFailure = ready ? undefined : this.#backends.failure();
    if (this.#podFailure !== undefined) this.#reportFailure(this.#podFailure);
    this.#evaluate();
    this.hold.update();
  }

  #sinceEpisode(): number | undefined {
    return this.#episode === undefined ? undefined : Date.now() - this.#episode.startedAt;
  }

  /** Scales up when connections are held, no pod is ready and it is not outside awake-hours (the Waker scales only an app at zero). */
  #evaluate(): void {
    if (!this.#stopped && this.hold.held > 0 && !this.#backends.anyReady() && this.closed() === undefined) this.#waker.wake(this.#backends.deployment, this.hold.held);
  }

  #reportFailure(failure: string): void {
    const episode = this.#episode;
    if (episode === undefined || episode.failureReported || this.hold.held === 0) return;
    episode.failureReported = true;
    this.#log.warn({ failure }, 'the app cannot come up');
    this.#report.wakeFailed(failure);
  }
}
