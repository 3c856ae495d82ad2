// One app's backends while connections for it arrive (the activator's per-revision backends watcher):
// its Deployment (one GET at first contact, then a watch), its pods and its Services' EndpointSlices,
// and which pod addresses can take a connection now: ready by the slice or, sooner, by the pod's sidecar.
import type { V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../core/log.ts';
import { candidates, podOf, podsByName, type Candidate } from './endpoints.ts';
import { wakeFailure } from './failure.ts';
import type { Target } from './forward.ts';
import { selectorString, type ClusterApi, type Watched } from './kube.ts';
import { adminPortOf, ReadyProbe, type ReadyProbeOptions } from './readiness.ts';
import type { Route } from './routes.ts';

export interface BackendsContext {
  cluster: ClusterApi;
  log: Logger;
  probe?: Partial<ReadyProbeOptions>;
}

/** How long a pod that refused a connect is left out, unless its sidecar confirms it sooner. */
const UNUSABLE_MS = 1000;

export class Backends {
  /** The first contact's GET, sent before any watch so it goes out first on a pooled connection. */
  readonly fetching: Promise<V1Deployment | undefined>;
  readonly #namespace: string;
  readonly #ctx: BackendsContext;
  readonly #onChange: () => void;
  /** Milliseconds into the wake in progress, for debug logs. */
  readonly #since: () => number | undefined;
  readonly #deploymentWatch: Watched<V1Deployment>;
  #fetched: V1Deployment | undefined;
  #podWatch: Watched<V1Pod> | undefined;
  #podSelector = '';
  readonly #sliceWatches = new Map<string, Watched<V1EndpointSlice>>();
  readonly #probe: ReadyProbe;
  readonly #unusable = new Map<string, number>();
  /** Ready targets per interceptor port; recomputed on change, not per connection. */
  #targets = new Map<number, Target[]>();
  /** Pod incarnations seen in the slices at the last look (for debug logs). */
  #seen = new Set<string>();

  constructor(namespace: string, deployment: string, ctx: BackendsContext, onChange: () => void, since: () => number | undefined) {
    this.#namespace = namespace;
    this.#ctx = ctx;
    this.#onChange = onChange;
    this.#since = since;
    this.#probe = new ReadyProbe((key) => {
      ctx.log.debug({ pod: key, ms: since() }, 'sidecar says ready');
      onChange();
    }, ctx.probe);
    this.fetching = ctx.cluster.getDeployment(namespace, deployment);
    this.#deploymentWatch = ctx.cluster.deployment(namespace, deployment, onChange);
  }

  /** Takes the first contact's GET as the Deployment until its watch has listed; false when that is late. */
  useFetched(object: V1Deployment | undefined): boolean {
    if (this.#deploymentWatch.hasSynced() || object === undefined) return false;
    this.#fetched = object;
    return true;
  }

  /** Enough to decide: pods are not waited for, they matter only once the app is scaled. */
  get synced(): boolean {
    if (!this.#deploymentWatch.hasSynced()) return false;
    for (const watch of this.#sliceWatches.values()) if (!watch.hasSynced()) return false;
    return true;
  }

  get deployment(): V1Deployment | undefined {
    if (!this.#deploymentWatch.hasSynced()) return this.#fetched;
    this.#fetched = undefined;
    return this.#deploymentWatch.list()[0];
  }

  /** Listed, and there is no such Deployment. */
  get missing(): boolean {
    return this.#deploymentWatch.hasSynced() && this.deployment === undefined;
  }

  /** Watches the EndpointSlices of these Services, and only these. */
  follow(services: ReadonlySet<string>): void {
    for (const [service, watch] of this.#sliceWatches) {
      if (services.has(service)) continue;
      watch.stop();
      this.#sliceWatches.delete(service);
    }
    for (const service of services) {
      if (!this.#sliceWatches.has(service)) this.#sliceWatches.set(service, this.#ctx.cluster.slices(this.#namespace, service, this.#onChange));
    }
  }

  /** Follows the Deployment's pod selector, then recomputes the ready targets of `routes`. */
  refresh(routes: Iterable<Route>): void {
    const deployment = this.deployment;
    if (deployment !== undefined) {
      const selector = selectorString(deployment.spec?.selector);
      if (selector !== this.#podSelector) {
        this.#podWatch?.stop();
        this.#podSelector = selector;
        this.#podWatch = this.#ctx.cluster.pods(this.#namespace, selector, this.#onChange);
      }
    }
    this.#recompute(routes);
  }

  targets(port: number): readonly Target[] {
    return this.#targets.get(port) ?? [];
  }

  anyReady(): boolean {
    for (const targets of this.#targets.values()) if (targets.length > 0) return true;
    return false;
  }

  /** Why the app cannot come up, read from its pods (a crash loop, an image that cannot be pulled). */
  failure(): string | undefined {
    return wakeFailure(this.#podWatch?.list() ?? [], this.deployment);
  }

  /** A connect to `target` failed: it sits out a moment and its sidecar is asked again. */
  unusable(target: Target, routes: Iterable<Route>): void {
    this.#unusable.set(`${target.address}:${target.port}`, Date.now() + UNUSABLE_MS);
    const all = [...routes];
    for (const route of all) {
      for (const c of this.#candidates(route)) if (c.address === target.address) this.#probe.forget(c.key);
    }
    this.#recompute(all);
    // Looked at again once the pause is over, in case nothing else changes meanwhile.
    setTimeout(this.#onChange, UNUSABLE_MS + 10).unref();
  }

  stop(): void {
    this.#deploymentWatch.stop();
    this.#podWatch?.stop();
    for (const watch of this.#sliceWatches.values()) watch.stop();
    this.#probe.stop();
  }

  /** The route's endpoints that are pods of this Deployment (selector, namespace and IP checked against the pod watch). */
  #candidates(route: Route, pods: ReadonlyMap<string, V1Pod> = podsByName(this.#podWatch?.list() ?? [])): Candidate[] {
    const watch = this.#sliceWatches.get(route.service);
    return watch === undefined ? [] : candidates(watch.list(), route.portName, (c) => podOf(c, pods, this.#namespace) !== undefined);
  }

  /**
   * Ready targets: pods of this Deployment only (selector, namespace and IP checked against the pod
   * watch), ready by the slice or by the pod's sidecar; never terminating, never just refused.
   */
  #recompute(routes: Iterable<Route>): void {
    const now = Date.now();
    const live = new Set<string>();
    const targets = new Map<number, Target[]>();
    const pods = podsByName(this.#podWatch?.list() ?? []);
    for (const route of routes) {
      const ready: Target[] = [];
      // Anything else in the slices (another namespace's pod, an external address) is neither forwarded to nor probed.
      for (const c of this.#candidates(route, pods)) {
        if (c.terminating) continue;
        const pod = pods.get(c.pod!);
        if (!this.#seen.has(c.key)) this.#ctx.log.debug({ pod: c.key, ready: c.ready, ms: this.#since() }, 'pod address seen');
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
  }
}
