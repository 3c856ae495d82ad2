// What Service routing needs to know about one Deployment, read from the Deployment as stored.
import type { V1Deployment } from '@kubernetes/client-node';
import { INJECTED } from '../core/annotations.ts';
import { SIDECAR_CONTAINER_NAME, SIDECAR_ENV, sidecarPortName } from '../core/sidecar-contract.ts';
import { parsePortsEnv } from './sidecar.ts';

export interface Backend {
  namespace: string;
  name: string;
  podLabels: Record<string, string>;
  /** The pod template carries Lull's sidecar. */
  injected: boolean;
  /** Every current pod is from the current template, so routing to the sidecar reaches one everywhere. */
  rolledOut: boolean;
  /** App port → name of the sidecar port in front of it. */
  fronted: Map<number, string>;
  /** App containers' TCP port names → numbers. */
  portNames: Map<string, number>;
}

/** Pure. */
export function backendOf(deployment: V1Deployment): Backend {
  const spec = deployment.spec?.template?.spec;
  const sidecar = spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  const fronted = new Map<number, string>();
  if (sidecar !== undefined) {
    const pairs = parsePortsEnv(sidecar.env?.find((e) => e.name === SIDECAR_ENV.ports)?.value);
    for (const { listenPort, appPort } of pairs) {
      const name = sidecarPortName(appPort);
      if (sidecar.ports?.some((p) => p.name === name && p.containerPort === listenPort)) fronted.set(appPort, name);
    }
  }
  const portNames = new Map<string, number>();
  for (const container of spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name && (port.protocol ?? 'TCP') === 'TCP') portNames.set(port.name, port.containerPort);
    }
  }
  const status = deployment.status;
  const generation = deployment.metadata?.generation ?? 0;
  return {
    namespace: deployment.metadata?.namespace ?? '',
    name: deployment.metadata?.name ?? '',
    podLabels: deployment.spec?.template?.metadata?.labels ?? {},
    injected: deployment.metadata?.annotations?.[INJECTED] !== undefined && sidecar !== undefined,
    rolledOut: (status?.observedGeneration ?? -1) >= generation && (status?.updatedReplicas ?? 0) === (status?.replicas ?? 0),
    fronted,
    portNames,
  };
}

/** A Service selector selects pods whose labels include every pair of it; an empty one selects nothing. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([key, value]) => labels[key] === value);
}
