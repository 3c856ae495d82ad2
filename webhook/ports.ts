// Which app ports the sidecar fronts, and on which sidecar ports: a pure function of the pod spec.
import type { V1Container, V1PodSpec, V1Probe, V1LifecycleHandler } from '@kubernetes/client-node';
import { SIDECAR_ADMIN_PORT, SIDECAR_CONTAINER_NAME, SIDECAR_FIRST_PROXY_PORT } from '../core/sidecar-contract.ts';
import { isDrainHook } from './drain-hook.ts';

export interface FrontedPort {
  /** The app's container port. */
  appPort: number;
  /** The sidecar's port in front of it. */
  listenPort: number;
}

export interface PortPlan {
  adminPort: number;
  fronted: FrontedPort[];
}

const MAX_PORT = 65_535;

/** TCP container ports of the app containers, once each, in the order they are declared. */
export function appTcpPorts(spec: V1PodSpec): number[] {
  const seen = new Set<number>();
  for (const container of spec.containers ?? []) {
    for (const port of container.ports ?? []) {
      if ((port.protocol ?? 'TCP') === 'TCP' && Number.isInteger(port.containerPort)) seen.add(port.containerPort);
    }
  }
  return [...seen];
}

function handlerPorts(handler: V1Probe | V1LifecycleHandler | undefined): unknown[] {
  if (handler === undefined) return [];
  return [handler.httpGet?.port, handler.tcpSocket?.port, 'grpc' in handler ? handler.grpc?.port : undefined];
}

function portsOf(container: V1Container): number[] {
  const found: unknown[] = (container.ports ?? []).flatMap((p) => [p.containerPort, p.hostPort]);
  found.push(...handlerPorts(container.readinessProbe), ...handlerPorts(container.livenessProbe), ...handlerPorts(container.startupProbe));
  const preStop = container.lifecycle?.preStop;
  // Lull's own drain hook points at the sidecar, not at a port of the app.
  found.push(...handlerPorts(isDrainHook(preStop) ? undefined : preStop), ...handlerPorts(container.lifecycle?.postStart));
  return found.filter((p): p is number => typeof p === 'number');
}

/** Every port any container of the pod (except what Lull added) declares or is probed on. */
export function usedPorts(spec: V1PodSpec): Set<number> {
  const used = new Set<number>();
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    if (container.name === SIDECAR_CONTAINER_NAME) continue;
    for (const port of portsOf(container)) used.add(port);
  }
  return used;
}

/**
 * Admin port (9930 unless taken) and one sidecar port per app TCP port, upwards from 9931, skipping
 * every port the pod already uses. What Lull added is ignored, so re-admission gives the same plan.
 */
export function planPorts(spec: V1PodSpec): PortPlan {
  const taken = usedPorts(spec);
  const next = (from: number): number => {
    let port = from;
    while (taken.has(port)) port++;
    if (port > MAX_PORT) throw new RangeError('no free port left for the Lull sidecar');
    taken.add(port);
    return port;
  };
  const adminPort = next(SIDECAR_ADMIN_PORT);
  const fronted = appTcpPorts(spec).map((appPort) => ({ appPort, listenPort: next(SIDECAR_FIRST_PROXY_PORT) }));
  return { adminPort, fronted };
}
