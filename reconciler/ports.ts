// Interceptor ports, one per (Service, port): recorded in the route records in Lull's namespace (one
// ConfigMap per port, core/interceptor-contract.ts), so they are stable across restarts, have exactly
// one owner (the apiserver keeps names unique), and are free again once the Service is gone.
import { INTERCEPTOR_PORT_RANGE, sameRecord, servicePortKey, type InterceptorRoute, type RouteRecord } from '../core/interceptor-contract.ts';
import type { ServicePort } from '../core/objects.ts';

export interface PortRange {
  first: number;
  last: number;
}

/** The Service ports the interceptor can take: TCP only. */
export function interceptablePorts(ports: readonly ServicePort[]): ServicePort[] {
  return ports.filter((p) => p.protocol === 'TCP');
}

/**
 * Pure: the route for a Service. Ports it already holds are kept (stable); new Service ports get the
 * lowest free port; ports of Service ports that are gone are dropped. Undefined when the range is full.
 * `takenByOthers(port)`: another Service owns it.
 */
export function allocate(
  deployment: string,
  ports: readonly ServicePort[],
  current: InterceptorRoute | undefined,
  takenByOthers: (port: number) => boolean,
  range: PortRange = INTERCEPTOR_PORT_RANGE,
  /** Every port below this one is taken: where the search for a free one starts. */
  hint = range.first,
): InterceptorRoute | undefined {
  const result: Record<string, number> = {};
  const mine = new Set<number>();
  for (const port of interceptablePorts(ports)) {
    const key = servicePortKey(port);
    const held = current?.ports[key];
    if (held !== undefined && held >= range.first && held <= range.last && !takenByOthers(held) && !mine.has(held)) {
      result[key] = held;
      mine.add(held);
    }
  }
  let next = Math.max(range.first, hint);
  for (const port of interceptablePorts(ports)) {
    const key = servicePortKey(port);
    if (result[key] !== undefined) continue;
    while (next <= range.last && (takenByOthers(next) || mine.has(next))) next++;
    if (next > range.last) return undefined;
    result[key] = next;
    mine.add(next);
  }
  return { deployment, ports: result };
}

/** Pure: the same route (deployment and every port)? */
export function sameRoute(a: InterceptorRoute | undefined, b: InterceptorRoute | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ak = Object.keys(a.ports);
  return a.deployment === b.deployment && ak.length === Object.keys(b.ports).length && ak.every((k) => a.ports[k] === b.ports[k]);
}

/**
 * The route records as this reconciler knows them: the record cache, overlaid with its own writes the
 * cache does not show yet (for a minute at most), so two Services allocated in quick succession never
 * ask for the same port. There are no claims to weigh: a port's record is its one owner.
 */
export class PortTable {
  /** Port -> record; `null` a port whose record exists but cannot be read (taken, owner unknown). */
  readonly #records = new Map<number, RouteRecord | null>();
  /** Own writes not seen in the cache yet: the record written, or undefined for a delete. */
  readonly #pending = new Map<number, { until: number; record: RouteRecord | undefined }>();
  readonly #byService = new Map<string, Set<number>>();
  readonly #byApp = new Map<string, Set<number>>();
  /** The display copy last written on each Service, so a cache that has not caught up does not cause a second write. */
  readonly #shown = new Map<string, string | undefined>();
  readonly #now: () => number;
  #lowestFree = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** What the record cache shows for `port` (undefined: no record). Returns the record it replaces. */
  observe(port: number, record: RouteRecord | null | undefined): RouteRecord | null | undefined {
    const pending = this.#pending.get(port);
    if (pending !== undefined) {
      const caughtUp = pending.record === undefined ? record === undefined : record !== null && sameRecord(pending.record, record);
      if (!caughtUp && pending.until > this.#now()) return this.#records.get(port);
      this.#pending.delete(port);
    }
    return this.#set(port, record);
  }

  /** The reconciler wrote (or deleted, with undefined) the record of `port`. */
  wrote(port: number, record: RouteRecord | undefined): void {
    this.#pending.set(port, { until: this.#now() + 60_000, record });
    this.#set(port, record);
  }

  record(port: number): RouteRecord | null | undefined {
    return this.#records.get(port);
  }

  /** A Service's records, by its port keys. */
  recordsOf(serviceKey: string): RouteRecord[] {
    return [...(this.#byService.get(serviceKey) ?? [])].map((p) => this.#records.get(p)).filter((r): r is RouteRecord => !!r);
  }

  /** The route a Service holds now (ports by Service port key), or undefined without records. */
  routeOf(serviceKey: string): InterceptorRoute | undefined {
    const records = this.recordsOf(serviceKey);
    if (records.length === 0) return undefined;
    return { deployment: records[0]!.deployment, ports: Object.fromEntries(records.map((r) => [r.servicePort, r.port])) };
  }

  /** Names of the Services whose records send them to Deployment `namespace/name`. */
  servicesRouting(appKey: string): string[] {
    return [...new Set([...(this.#byApp.get(appKey) ?? [])].map((p) => (this.#records.get(p) as RouteRecord).service))];
  }

  /** Deployments (namespace/name) the records of a Service name. */
  appsOf(serviceKey: string): string[] {
    return [...new Set(this.recordsOf(serviceKey).map((r) => `${r.namespace}/${r.deployment}`))];
  }

  /** Every app some record names, for a new leader's first pass. */
  apps(): string[] {
    return [...this.#byApp.keys()];
  }

  /** Whether `text` is already what the Service shows: its cached copy, or this reconciler's last write. */
  shows(serviceKey: string, cached: string | undefined, text: string | undefined): boolean {
    return cached === text || (this.#shown.has(serviceKey) && this.#shown.get(serviceKey) === text);
  }

  showed(serviceKey: string, text: string | undefined): void {
    this.#shown.set(serviceKey, text);
  }

  takenByOthers(serviceKey: string): (port: number) => boolean {
    return (port) => {
      const record = this.#records.get(port);
      if (record === undefined) return false;
      return record === null || `${record.namespace}/${record.service}` !== serviceKey;
    };
  }

  get size(): number {
    return this.#records.size;
  }

  /** No port below this one is free (a hint for allocate). */
  lowestFree(from: number): number {
    let port = Math.max(from, this.#lowestFree);
    while (this.#records.has(port)) port++;
    this.#lowestFree = port;
    return port;
  }

  clear(): void {
    this.#records.clear();
    this.#pending.clear();
    this.#byService.clear();
    this.#byApp.clear();
    this.#shown.clear();
    this.#lowestFree = 0;
  }

  #set(port: number, record: RouteRecord | null | undefined): RouteRecord | null | undefined {
    const previous = this.#records.get(port);
    if (previous) {
      unindex(this.#byService, `${previous.namespace}/${previous.service}`, port);
      unindex(this.#byApp, `${previous.namespace}/${previous.deployment}`, port);
    }
    if (record === undefined) {
      this.#records.delete(port);
      this.#lowestFree = Math.min(this.#lowestFree, port);
      return previous;
    }
    this.#records.set(port, record);
    if (record) {
      index(this.#byService, `${record.namespace}/${record.service}`, port);
      index(this.#byApp, `${record.namespace}/${record.deployment}`, port);
    }
    return previous;
  }
}

function index(map: Map<string, Set<number>>, key: string, port: number): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(port);
}

function unindex(map: Map<string, Set<number>>, key: string, port: number): void {
  const set = map.get(key);
  set?.delete(port);
  if (set?.size === 0) map.delete(key);
}
