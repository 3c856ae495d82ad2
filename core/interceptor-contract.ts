// How the reconciler routes a sleeping app to the interceptor, and how the interceptor finds it
// (docs/design.md "Routing" step 2). Both sides read and write through these functions only.
import { SYSTEM_NAMESPACE } from './annotations.ts';

/** EndpointSlices the reconciler owns carry this managed-by label value. */
export const SLICE_MANAGED_BY = 'reconciler.lull.dev';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Interceptor pods: in Lull's namespace, selected by this label. */
export const INTERCEPTOR_NAMESPACE = SYSTEM_NAMESPACE;
export const INTERCEPTOR_LABELS = { 'app.kubernetes.io/name': 'lull-interceptor' } as const;
export const INTERCEPTOR_SELECTOR = 'app.kubernetes.io/name=lull-interceptor';
/** Health and metrics of an interceptor pod. */
export const INTERCEPTOR_ADMIN_PORT = 9940;

/** Ports handed out to (Service, port) pairs, unique within one Lull installation; the interceptor listens on each. */
export const INTERCEPTOR_PORT_RANGE = { first: 20000, last: 29999 } as const;

/**
 * The route table, the one source both sides trust: a ConfigMap per interceptor port, named for the
 * port, in Lull's own namespace (tenants cannot write there), written by the reconciler only. The
 * apiserver keeps names unique, so a port has at most one owner and there is no conflict to resolve.
 */
export const ROUTE_LABELS = {
  'app.kubernetes.io/part-of': 'lull',
  'app.kubernetes.io/component': 'interceptor-route',
  'app.kubernetes.io/managed-by': 'lull-reconciler',
} as const;
export const ROUTE_SELECTOR = Object.entries(ROUTE_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
const RECORD_PREFIX = 'lull-port-';

/** One interceptor port: the Service port it stands for and the Deployment it wakes. */
export interface RouteRecord {
  port: number;
  namespace: string;
  service: string;
  deployment: string;
  /** The Service port's key: its name, or its number when unnamed. */
  servicePort: string;
  /** The port's name in the Service's EndpointSlices ('' when unnamed). */
  portName: string;
}

export interface RecordObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export function routeRecordName(port: number): string {
  return `${RECORD_PREFIX}${port}`;
}

/** The port a record's name stands for, or undefined for any other name. */
export function recordPort(name: string | undefined): number | undefined {
  if (name === undefined || !name.startsWith(RECORD_PREFIX)) return undefined;
  const text = name.slice(RECORD_PREFIX.length);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < INTERCEPTOR_PORT_RANGE.first || port > INTERCEPTOR_PORT_RANGE.last) return undefined;
  return port;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PORT_KEY = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Pure: the ConfigMap that records `record` in Lull's namespace. */
export function buildRouteRecord(record: RouteRecord, lullNamespace: string): Required<Pick<RecordObject, 'apiVersion' | 'kind' | 'data'>> & { metadata: { name: string; namespace: string; labels: Record<string, string> } } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: routeRecordName(record.port), namespace: lullNamespace, labels: { ...ROUTE_LABELS } },
    data: { namespace: record.namespace, service: record.service, deployment: record.deployment, 'service-port': record.servicePort, 'port-name': record.portName },
  };
}

/** Pure: the route a record holds, or undefined when it is not a well-formed record (the port comes from the name). */
export function parseRouteRecord(object: RecordObject): RouteRecord | undefined {
  const port = recordPort(object.metadata?.name);
  const data = object.data ?? {};
  const { namespace, service, deployment } = data;
  const servicePort = data['service-port'];
  const portName = data['port-name'] ?? '';
  if (port === undefined || namespace === undefined || service === undefined || deployment === undefined || servicePort === undefined) return undefined;
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(service) || !DNS_SUBDOMAIN.test(deployment) || !PORT_KEY.test(servicePort)) return undefined;
  if (portName !== '' && !PORT_KEY.test(portName)) return undefined;
  return { port, namespace, service, deployment, servicePort, portName };
}

export function sameRecord(a: RouteRecord | undefined, b: RouteRecord | undefined): boolean {
  return (
    a !== undefined && b !== undefined && a.port === b.port && a.namespace === b.namespace && a.service === b.service &&
    a.deployment === b.deployment && a.servicePort === b.servicePort && a.portName === b.portName
  );
}

/**
 * A Service's interceptor ports, as the reconciler allocates them (keyed by the Service port's key).
 * Also shown, for people only, in the Service annotation `lull.dev/interceptor-ports`: nothing reads it back.
 */
export interface InterceptorRoute {
  deployment: string;
  ports: Record<string, number>;
}

export function servicePortKey(port: { name?: string; port: number }): string {
  return port.name ? port.name : String(port.port);
}

export function formatInterceptorRoute(route: InterceptorRoute): string {
  const ports = Object.fromEntries(Object.entries(route.ports).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ deployment: route.deployment, ports });
}
