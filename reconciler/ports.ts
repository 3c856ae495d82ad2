// Interceptor ports, one per (Service, port): recorded in the Service's `lull.dev/interceptor-ports`,
// so they are stable across restarts, unique cluster-wide, and free again once the Service is gone.
import { INTERCEPTOR_PORT_RANGE, servicePortKey, type InterceptorRoute } from '../core/interceptor-contract.ts';
import type { ServicePort } from './objects.ts';

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
 * Every Service's claimed ports, kept in step with the Service cache. A claim the reconciler just wrote
 * is reserved until the cache shows it (or a minute passes), so two Services allocated in quick
 * succession never share a port. A port claimed twice (a copied annotation) belongs to the older Service.
 */
export class PortTable {
  readonly #claims = new Map<string, { createdAt: string; ports: number[]; reserved?: { until: number; route: InterceptorRoute } }>();
  readonly #byPort = new Map<number, Set<string>>();
  readonly #now: () => number;
  #lowestFree = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** What the Service cache shows for `service` (ports undefined: no route, or the Service is gone). */
  observe(service: string, createdAt: string, ports: readonly number[] | undefined): void {
    const claim = this.#claims.get(service);
    if (claim?.reserved !== undefined && claim.reserved.until > this.#now() && !sameSet(claim.ports, ports ?? [])) return;
    this.#set(service, createdAt, ports ?? [], undefined);
  }

  /** The reconciler is writing this route for `service`. */
  reserve(service: string, createdAt: string, route: InterceptorRoute): void {
    this.#set(service, createdAt, Object.values(route.ports), { until: this.#now() + 60_000, route });
  }

  /** The route being written for `service` that the cache may not show yet. */
  reserved(service: string): InterceptorRoute | undefined {
    const reserved = this.#claims.get(service)?.reserved;
    return reserved !== undefined && reserved.until > this.#now() ? reserved.route : undefined;
  }

  remove(service: string): void {
    this.#set(service, '', [], undefined);
  }

  /** The Service a port belongs to. */
  owner(port: number): string | undefined {
    let best: string | undefined;
    let bestAt = '';
    for (const service of this.#byPort.get(port) ?? []) {
      const at = this.#claims.get(service)!.createdAt;
      if (best === undefined || at < bestAt || (at === bestAt && service < best)) {
        best = service;
        bestAt = at;
      }
    }
    return best;
  }

  takenByOthers(service: string): (port: number) => boolean {
    return (port) => {
      const owner = this.owner(port);
      return owner !== undefined && owner !== service;
    };
  }

  get size(): number {
    return this.#byPort.size;
  }

  /** No port below this one is free (a hint for allocate). */
  lowestFree(from: number): number {
    let port = Math.max(from, this.#lowestFree);
    while (this.#byPort.has(port)) port++;
    this.#lowestFree = port;
    return port;
  }

  clear(): void {
    this.#claims.clear();
    this.#byPort.clear();
    this.#lowestFree = 0;
  }

  #set(service: string, createdAt: string, ports: readonly number[], reserved: { until: number; route: InterceptorRoute } | undefined): void {
    for (const port of this.#claims.get(service)?.ports ?? []) {
      const set = this.#byPort.get(port);
      set?.delete(service);
      if (set?.size === 0) {
        this.#byPort.delete(port);
        this.#lowestFree = Math.min(this.#lowestFree, port);
      }
    }
    if (ports.length === 0) {
      this.#claims.delete(service);
      return;
    }
    this.#claims.set(service, { createdAt, ports: [...ports], ...(reserved !== undefined ? { reserved } : {}) });
    for (const port of ports) {
      let set = this.#byPort.get(port);
      if (set === undefined) this.#byPort.set(port, (set = new Set()));
      set.add(service);
    }
  }
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}
