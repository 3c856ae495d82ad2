// The route table: which app an interceptor port belongs to, read only from the route records the
// reconciler writes in Lull's namespace (core/interceptor-contract.ts). Nothing a tenant writes, on a
// Service or an EndpointSlice, can claim a port. The port a connection arrives on names the app.
import { parseRouteRecord, type RecordObject, type RouteRecord } from '../core/interceptor-contract.ts';

/** One interceptor port and the app it wakes: the record itself. */
export type Route = RouteRecord;

export interface RouteTable {
  byPort: ReadonlyMap<number, Route>;
  /** One line per record that could not be used, for the log. */
  problems: string[];
}

/** Namespace/name: an app and its watches are keyed by this. */
export function appKey(namespace: string, deployment: string): string {
  return `${namespace}/${deployment}`;
}

/** Pure. Ports come from the records' names, which the apiserver keeps unique: one owner per port. */
export function routeTable(records: Iterable<RecordObject>): RouteTable {
  const byPort = new Map<number, Route>();
  const problems: string[] = [];
  for (const object of records) {
    const route = parseRouteRecord(object);
    if (route === undefined) problems.push(`${object.metadata?.name ?? '?'}: not a well-formed route record`);
    else byPort.set(route.port, route);
  }
  return { byPort, problems };
}

/** Pure: whether two routes send a port to the same place (so a listener can stay as it is). */
export function sameRoute(a: Route | undefined, b: Route | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.port === b.port && a.namespace === b.namespace && a.service === b.service &&
    a.deployment === b.deployment && a.servicePort === b.servicePort && a.portName === b.portName
  );
}
