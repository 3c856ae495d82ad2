// The interceptor EndpointSlice of a sleeping app's Service (docs/design.md "Routing" step 2): endpoints are
// the ready interceptor pods, ports carry the Service's port names with the allocated interceptor ports.
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICE_MANAGED_BY, servicePortKey, type InterceptorRoute } from '../core/interceptor-contract.ts';
import type { PodObj, ServiceObj, SliceObj } from '../core/objects.ts';
import { interceptablePorts } from './ports.ts';

export interface InterceptorEndpoint {
  name: string;
  namespace: string;
  uid: string;
  ip: string;
  nodeName?: string;
}

export interface DesiredSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller: boolean; blockOwnerDeletion: boolean }>;
    resourceVersion?: string;
  };
  addressType: 'IPv4' | 'IPv6';
  endpoints: Array<{
    addresses: string[];
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
    nodeName?: string;
  }>;
  ports: Array<{ name: string; port: number; protocol: 'TCP'; appProtocol?: string }>;
}

/** The one interceptor slice of a Service. Controller-made slices are `<service>-<5 random chars>`, so this never collides. */
export function sliceName(service: string): string {
  return `${service}-lull`;
}

export function isInterceptorSlice(slice: SliceObj): boolean {
  return slice.metadata.labels?.[MANAGED_BY_LABEL] === SLICE_MANAGED_BY;
}

/** Pure: the interceptor pods that may take traffic: ready, addressed, not stopping. */
export function readyInterceptors(pods: Iterable<PodObj>): InterceptorEndpoint[] {
  const out: InterceptorEndpoint[] = [];
  for (const pod of pods) {
    if (!pod.ready || !pod.ip || pod.metadata.deletionTimestamp || pod.phase !== 'Running') continue;
    out.push({ name: pod.metadata.name, namespace: pod.metadata.namespace ?? '', uid: pod.metadata.uid, ip: pod.ip });
  }
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

/** Pure: the same endpoints, in the order readyInterceptors gives. */
export function sameInterceptors(a: readonly InterceptorEndpoint[], b: readonly InterceptorEndpoint[]): boolean {
  return a.length === b.length && a.every((x, i) => x.ip === b[i]!.ip && x.uid === b[i]!.uid && x.name === b[i]!.name && x.nodeName === b[i]!.nodeName);
}

/** Pure: the address family a Service's endpoints must have. */
export function addressType(service: ServiceObj): 'IPv4' | 'IPv6' {
  return service.ipFamilies?.[0] === 'IPv6' ? 'IPv6' : 'IPv4';
}

/** Pure: the slice that sends `service` to the interceptors. */
export function buildSlice(service: ServiceObj, route: InterceptorRoute, interceptors: readonly InterceptorEndpoint[]): DesiredSlice {
  const family = addressType(service);
  const namespace = service.metadata.namespace ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(service.metadata.name),
      namespace,
      labels: { [SERVICE_NAME_LABEL]: service.metadata.name, [MANAGED_BY_LABEL]: SLICE_MANAGED_BY },
      // Deleted with its Service by the garbage collector, whatever happens to the reconciler.
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid, controller: false, blockOwnerDeletion: false }],
    },
    addressType: family,
    endpoints: interceptors
      .filter((i) => i.ip.includes(':') === (family === 'IPv6'))
      .map((i) => ({
        addresses: [i.ip],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod' as const, namespace: i.namespace, name: i.name, uid: i.uid },
        ...(i.nodeName ? { nodeName: i.nodeName } : {}),
      })),
    ports: interceptablePorts(service.ports).flatMap((p) => {
      const port = route.ports[servicePortKey(p)];
      return port === undefined ? [] : [{ name: p.name ?? '', port, protocol: 'TCP' as const, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }];
    }),
  };
}

/** Pure: a stored slice already says everything the desired one does. */
export function sliceUpToDate(existing: SliceObj, desired: DesiredSlice): boolean {
  const labels = existing.metadata.labels ?? {};
  if (Object.entries(desired.metadata.labels).some(([k, v]) => labels[k] !== v)) return false;
  if (!existing.metadata.ownerReferences?.some((o) => o.uid === desired.metadata.ownerReferences[0]!.uid)) return false;
  if (existing.addressType !== desired.addressType) return false;
  const endpoints = (e: Array<{ addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; targetRef?: { name?: string } }>) =>
    e.map((x) => `${x.addresses.join(',')}|${x.conditions?.ready !== false}|${x.conditions?.serving !== false}|${x.conditions?.terminating === true}|${x.targetRef?.name ?? ''}`).sort().join(';');
  const ports = (p: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }>) =>
    p.map((x) => `${x.name ?? ''}|${x.port}|${x.protocol ?? 'TCP'}|${x.appProtocol ?? ''}`).sort().join(';');
  return endpoints(existing.endpoints) === endpoints(desired.endpoints) && ports(existing.ports) === ports(desired.ports);
}

/** Pure: the Service's own endpoints (not Lull's) include a ready one: kube-proxy can reach the app directly. */
export function ownEndpointsReady(slices: Iterable<SliceObj>): boolean {
  for (const slice of slices) {
    if (isInterceptorSlice(slice)) continue;
    if (slice.endpoints.some((e) => e.conditions?.ready !== false)) return true;
  }
  return false;
}
