// The route table: which app an interceptor port belongs to, read from Services' `lull.dev/interceptor-ports`.
// The port a connection arrives on names the app, so no Host header (and no HTTP) is needed.
import { parseInterceptorRoute, servicePortKey } from '../core/interceptor-contract.ts';

export interface Route {
  /** The interceptor port. */
  port: number;
  namespace: string;
  service: string;
  deployment: string;
  /** The Service port's key in the annotation: its name, or its number when unnamed. */
  servicePort: string;
  /** The port's name in the Service's EndpointSlices ('' when the Service port is unnamed). */
  portName: string;
}

/** What the table needs of a Service. */
export interface ServiceLike {
  metadata?: { namespace?: string; name?: string; annotations?: Record<string, string> };
  spec?: { ports?: Array<{ name?: string; port: number; protocol?: string }> };
}

export interface RouteTable {
  byPort: ReadonlyMap<number, Route>;
  /** One line per annotation entry that could not be used, for the log. */
  problems: string[];
}

/** Namespace/name: an app and its watches are keyed by this. */
export function appKey(namespace: string, deployment: string): string {
  return `${namespace}/${deployment}`;
}

/** Pure. Services are taken in namespace/name order, so a port claimed twice goes to the same one on every replica. */
export function routeTable(services: Iterable<ServiceLike>): RouteTable {
  const byPort = new Map<number, Route>();
  const problems: string[] = [];
  const sorted = [...services].sort((a, b) => name(a).localeCompare(name(b)));
  for (const service of sorted) {
    const route = parseInterceptorRoute(service.metadata?.annotations);
    if (route === undefined) continue;
    const namespace = service.metadata?.namespace ?? '';
    const serviceName = service.metadata?.name ?? '';
    for (const [key, port] of Object.entries(route.ports)) {
      const spec = service.spec?.ports?.find((p) => servicePortKey(p) === key);
      if (spec === undefined) {
        problems.push(`${name(service)}: no port ${JSON.stringify(key)} for interceptor port ${port}`);
        continue;
      }
      if ((spec.protocol ?? 'TCP') !== 'TCP') {
        problems.push(`${name(service)}: port ${JSON.stringify(key)} is ${spec.protocol}; only TCP is intercepted`);
        continue;
      }
      const taken = byPort.get(port);
      if (taken !== undefined) {
        problems.push(`${name(service)}: interceptor port ${port} is already ${taken.namespace}/${taken.service}'s`);
        continue;
      }
      byPort.set(port, { port, namespace, service: serviceName, deployment: route.deployment, servicePort: key, portName: spec.name ?? '' });
    }
  }
  return { byPort, problems };
}

function name(service: ServiceLike): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}

/** Pure: whether two routes send a port to the same place (so a listener can stay as it is). */
export function sameRoute(a: Route | undefined, b: Route | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.port === b.port && a.namespace === b.namespace && a.service === b.service &&
    a.deployment === b.deployment && a.servicePort === b.servicePort && a.portName === b.portName
  );
}
