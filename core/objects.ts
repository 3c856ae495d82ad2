// What the reconciler keeps of each object it watches: only the fields it reads, so 5,000 apps stay small.
import type { V1ConfigMap, V1Deployment, V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { INJECTED } from '../core/annotations.ts';
import { parseRouteRecord, recordPort, type RouteRecord } from '../core/interceptor-contract.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_ADMIN_PORT_NAME, SIDECAR_CONTAINER_NAME } from '../core/sidecar-contract.ts';

export interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface DeploymentObj {
  metadata: Meta;
  /** spec.replicas, defaulted to 1 as the apiserver does. */
  replicas: number;
  selector: LabelSelector;
  podLabels: Record<string, string>;
  /** The pod template carries Lull's sidecar and the webhook recorded it. */
  injected: boolean;
  /** Some app container has a TCP port: without one the webhook leaves it alone. */
  hasTcpPort: boolean;
  /** App port -> name of the sidecar port in front of it ("lull-8080"). */
  fronted: Record<string, string>;
  /** App containers' TCP port names -> numbers. */
  portNames: Record<string, number>;
  /** Every pod is from the current template. */
  rolledOut: boolean;
  readyReplicas: number;
  /** Pods of any template (status.replicas). */
  currentReplicas: number;
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol: string;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface ServiceObj {
  metadata: Meta;
  selector?: Record<string, string>;
  ports: ServicePort[];
  type?: string;
  /** clusterIP None: clients resolve the pods themselves and never meet the interceptor. */
  headless?: true;
  ipFamilies?: string[];
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
  nodeName?: string;
}

export interface SliceObj {
  metadata: Meta & { ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string }> };
  addressType: string;
  endpoints: SliceEndpoint[];
  ports: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }>;
}

export interface PodObj {
  metadata: Meta;
  /** Name of the Deployment, from the owning ReplicaSet and the pod-template-hash label. */
  deployment?: string;
  ip?: string;
  phase?: string;
  ready: boolean;
  /** Epoch ms the kubelet started the pod. */
  startedAt?: number;
  /** The sidecar's admin port, when the pod has the sidecar. */
  adminPort?: number;
}

export interface NamespaceObj {
  metadata: Meta;
}

/** A route record (a ConfigMap in Lull's namespace): its port, and its route when well-formed (null when not). */
export interface RecordObj {
  metadata: Meta;
  port: number | undefined;
  record: RouteRecord | null;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function meta(m: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: Date | string; deletionTimestamp?: Date | string } | undefined, keep: { labels?: boolean; annotations?: boolean } = {}): Meta {
  const out: Meta = { name: m?.name ?? '', uid: m?.uid ?? '', resourceVersion: m?.resourceVersion ?? '' };
  if (m?.namespace) out.namespace = m.namespace;
  if (keep.labels && m?.labels) out.labels = m.labels;
  if (keep.annotations && m?.annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = m.annotations;
    if (Object.keys(rest).length > 0) out.annotations = rest;
  }
  if (m?.creationTimestamp) out.creationTimestamp = String(m.creationTimestamp);
  if (m?.deletionTimestamp) out.deletionTimestamp = String(m.deletionTimestamp);
  return out;
}

export function trimDeployment(d: V1Deployment): DeploymentObj {
  const spec = d.spec?.template?.spec;
  const sidecar = spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  const fronted: Record<string, string> = {};
  for (const port of sidecar?.ports ?? []) {
    const match = /^lull-(\d+)$/.exec(port.name ?? '');
    if (match) fronted[match[1]!] = port.name!;
  }
  const portNames: Record<string, number> = {};
  let hasTcpPort = false;
  for (const container of spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      hasTcpPort = true;
      if (port.name) portNames[port.name] = port.containerPort;
    }
  }
  const status = d.status;
  const generation = d.metadata?.generation ?? 0;
  return {
    metadata: meta(d.metadata, { annotations: true }),
    replicas: d.spec?.replicas ?? 1,
    selector: (d.spec?.selector ?? {}) as LabelSelector,
    podLabels: d.spec?.template?.metadata?.labels ?? {},
    injected: d.metadata?.annotations?.[INJECTED] !== undefined && sidecar !== undefined,
    hasTcpPort,
    fronted,
    portNames,
    rolledOut: (status?.observedGeneration ?? -1) >= generation && (status?.updatedReplicas ?? 0) === (status?.replicas ?? 0),
    readyReplicas: status?.readyReplicas ?? 0,
    currentReplicas: status?.replicas ?? 0,
  };
}

export function trimService(s: V1Service): ServiceObj {
  const out: ServiceObj = {
    metadata: meta(s.metadata, { annotations: true }),
    ports: (s.spec?.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? 'TCP',
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort as number | string } : {}),
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
  };
  if (s.spec?.selector) out.selector = s.spec.selector;
  if (s.spec?.type) out.type = s.spec.type;
  if (s.spec?.clusterIP === 'None') out.headless = true;
  if (s.spec?.ipFamilies) out.ipFamilies = s.spec.ipFamilies;
  return out;
}

export function trimSlice(s: V1EndpointSlice): SliceObj {
  const metadata: SliceObj['metadata'] = meta(s.metadata, { labels: true });
  const owners = s.metadata?.ownerReferences;
  if (owners) metadata.ownerReferences = owners.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid }));
  return {
    metadata,
    addressType: s.addressType,
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.conditions ? { conditions: { ...e.conditions } } : {}),
      ...(e.targetRef ? { targetRef: { kind: e.targetRef.kind, namespace: e.targetRef.namespace, name: e.targetRef.name, uid: e.targetRef.uid } } : {}),
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    })),
    ports: (s.ports ?? []).map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), ...(p.port !== undefined ? { port: p.port } : {}), ...(p.protocol ? { protocol: p.protocol } : {}), ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
  };
}

export function trimPod(p: V1Pod): PodObj {
  const rs = p.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet' && o.controller);
  const hash = p.metadata?.labels?.['pod-template-hash'];
  const sidecar = p.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  const admin = sidecar?.ports?.find((port) => port.name === SIDECAR_ADMIN_PORT_NAME);
  const out: PodObj = {
    metadata: meta(p.metadata, { labels: true }),
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  };
  if (rs && hash && rs.name.endsWith(`-${hash}`)) out.deployment = rs.name.slice(0, -hash.length - 1);
  if (p.status?.podIP) out.ip = p.status.podIP;
  if (p.status?.phase) out.phase = p.status.phase;
  if (p.status?.startTime) out.startedAt = new Date(p.status.startTime).getTime();
  if (sidecar) out.adminPort = admin?.containerPort ?? SIDECAR_ADMIN_PORT;
  return out;
}

export function trimRecord(c: V1ConfigMap): RecordObj {
  return { metadata: meta(c.metadata), port: recordPort(c.metadata?.name), record: parseRouteRecord(c) ?? null };
}

export function trimNamespace(n: V1Namespace): NamespaceObj {
  return { metadata: meta(n.metadata, { labels: true }) };
}
