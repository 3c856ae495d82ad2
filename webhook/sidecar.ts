// The sidecar container the webhook injects: a native sidecar configured only through its env contract.
import type { V1Container, V1PodSpec, V1Probe, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import { formatDuration } from '../core/duration.ts';
import {
  SIDECAR_ADMIN_PORT_NAME,
  SIDECAR_ARGS,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_DRAIN_MAX_MS,
  SIDECAR_DRAIN_QUIET_MS,
  SIDECAR_ENV,
  SIDECAR_PATHS,
  sidecarPortName,
} from '../core/sidecar-contract.ts';
import type { PortPlan } from './ports.ts';

export interface SidecarOptions {
  image: string;
  /** IfNotPresent unless given. */
  pullPolicy?: string;
  /** The built-in requests and limits unless given. */
  resources?: V1ResourceRequirements;
  drainQuietMs?: number;
  drainMaxMs?: number;
  /** This Deployment's drain token (drain-key.ts); also sent by its preStop hooks. */
  drainToken?: string;
}

// The image's user (Dockerfile, scripts/build-image.sh); the sidecar writes nothing to disk.
const NON_ROOT_ID = 65_532;

/**
 * Pod Security `restricted` and OpenShift `restricted-v2`: non-root without a fixed uid (OpenShift
 * assigns one from the namespace's range; otherwise the image's 65532 applies). Only a pod that
 * explicitly runs as root gets the image's uid spelled out, so the sidecar still starts there.
 */
export function sidecarSecurityContext(pod: V1PodSpec['securityContext']): V1SecurityContext {
  return {
    runAsNonRoot: true,
    ...(pod?.runAsUser === 0 ? { runAsUser: NON_ROOT_ID } : {}),
    ...(pod?.runAsGroup === 0 ? { runAsGroup: NON_ROOT_ID } : {}),
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** `LULL_PORTS`: "listen=app" pairs. */
export function portsEnv(plan: PortPlan): string {
  return plan.fronted.map((f) => `${f.listenPort}=${f.appPort}`).join(',');
}

/** Parses `LULL_PORTS` back; unparsable pairs are skipped. */
export function parsePortsEnv(value: string | undefined): Array<{ listenPort: number; appPort: number }> {
  if (!value) return [];
  return value.split(',').flatMap((pair) => {
    const match = /^(\d+)=(\d+)$/.exec(pair.trim());
    return match ? [{ listenPort: Number(match[1]), appPort: Number(match[2]) }] : [];
  });
}

/**
 * The readiness probe of the first fronted app container that has one, with named ports resolved to
 * numbers: the sidecar cannot resolve another container's port names.
 */
export function appReadiness(spec: V1PodSpec, plan: PortPlan): V1Probe | undefined {
  const fronted = new Set(plan.fronted.map((f) => f.appPort));
  for (const container of spec.containers ?? []) {
    const probe = container.readinessProbe;
    if (probe === undefined || !(container.ports ?? []).some((p) => fronted.has(p.containerPort))) continue;
    const resolve = (port: number | string | undefined) =>
      typeof port === 'string' ? (container.ports?.find((p) => p.name === port)?.containerPort ?? port) : port;
    const copy: V1Probe = structuredClone(probe);
    if (copy.httpGet) copy.httpGet.port = resolve(copy.httpGet.port) as number | string;
    if (copy.tcpSocket) copy.tcpSocket.port = resolve(copy.tcpSocket.port) as number | string;
    // A name that resolves to nothing: the sidecar falls back to connecting to the first fronted port.
    if (typeof copy.httpGet?.port === 'string' || typeof copy.tcpSocket?.port === 'string') return undefined;
    return copy;
  }
  return undefined;
}

/**
 * Every field is spelled out, including those the apiserver would default, so the stored sidecar
 * equals the one built here and re-admission yields an empty patch.
 */
export function sidecarContainer(spec: V1PodSpec, plan: PortPlan, options: SidecarOptions): V1Container {
  const readiness = appReadiness(spec, plan);
  const env = [
    { name: SIDECAR_ENV.ports, value: portsEnv(plan) },
    { name: SIDECAR_ENV.adminPort, value: String(plan.adminPort) },
    { name: SIDECAR_ENV.drainQuiet, value: formatDuration(options.drainQuietMs ?? SIDECAR_DRAIN_QUIET_MS) },
    { name: SIDECAR_ENV.drainMax, value: formatDuration(options.drainMaxMs ?? SIDECAR_DRAIN_MAX_MS) },
    ...(readiness ? [{ name: SIDECAR_ENV.appReadiness, value: JSON.stringify(readiness) }] : []),
    // The kubelet reaches the pod from these: only its requests there are probes (sidecar/peers.ts).
    { name: SIDECAR_ENV.nodeIps, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIPs' } } },
    ...(options.drainToken ? [{ name: SIDECAR_ENV.drainToken, value: options.drainToken }] : []),
  ];
  const adminGet = (path: string) => ({ path, port: plan.adminPort, scheme: 'HTTP' });
  return {
    name: SIDECAR_CONTAINER_NAME,
    image: options.image,
    imagePullPolicy: options.pullPolicy ?? 'IfNotPresent',
    args: [...SIDECAR_ARGS],
    restartPolicy: 'Always',
    ports: [
      { name: SIDECAR_ADMIN_PORT_NAME, containerPort: plan.adminPort, protocol: 'TCP' },
      ...plan.fronted.map((f) => ({ name: sidecarPortName(f.appPort), containerPort: f.listenPort, protocol: 'TCP' })),
    ],
    env,
    readinessProbe: { httpGet: adminGet(SIDECAR_PATHS.ready), periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 2 },
    livenessProbe: { httpGet: adminGet(SIDECAR_PATHS.healthz), periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
    resources: options.resources ?? { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '256Mi' } },
    securityContext: sidecarSecurityContext(spec.securityContext),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}
