// A container's environment, as the kubelet builds it: service variables, envFrom, env (with
// fieldRef, configMapKeyRef, secretKeyRef) and $(VAR) expansion.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface EnvSources {
  podIP: string;
  hostIP: string;
  /** Variables every container gets (KUBERNETES_SERVICE_HOST and friends). */
  serviceEnv: Record<string, string>;
  /** ConfigMap and Secret data by name, already decoded; absent = not found. */
  configMaps: ReadonlyMap<string, Record<string, string>>;
  secrets: ReadonlyMap<string, Record<string, string>>;
}

/** Names of the ConfigMaps and Secrets a container's env refers to, so they can be fetched first. */
export function envReferences(container: V1Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
    if (from.secretRef?.name) secrets.add(from.secretRef.name);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps, secrets };
}

const FIELD_PATH = /^metadata\.(labels|annotations)\['(.+)'\]$/;

export function fieldValue(pod: V1Pod, path: string, sources: Pick<EnvSources, 'podIP' | 'hostIP'>): string | undefined {
  switch (path) {
    case 'metadata.name': return pod.metadata?.name;
    case 'metadata.namespace': return pod.metadata?.namespace;
    case 'metadata.uid': return pod.metadata?.uid;
    case 'spec.nodeName': return pod.spec?.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName;
    case 'status.podIP': case 'status.podIPs': return sources.podIP;
    case 'status.hostIP': case 'status.hostIPs': return sources.hostIP;
  }
  const m = FIELD_PATH.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]!] ?? '';
  return undefined;
}

/** Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes, unknown references stay as written. */
export function expand(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(vars, name) ? vars[name]! : whole;
  });
}

export function buildEnv(pod: V1Pod, container: V1Container, sources: EnvSources): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = { ...sources.serviceEnv };
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const data = from.configMapRef ? sources.configMaps.get(ref!.name!) : sources.secrets.get(ref!.name!);
    if (data === undefined) {
      if (ref?.optional) continue;
      return { error: `${kind} "${ref?.name}" not found` };
    }
    for (const [key, value] of Object.entries(data)) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      env[e.name] = expand(e.value ?? '', env);
      continue;
    }
    const { fieldRef, configMapKeyRef, secretKeyRef, resourceFieldRef } = e.valueFrom;
    if (fieldRef) {
      const value = fieldValue(pod, fieldRef.fieldPath, sources);
      if (value === undefined) return { error: `env ${e.name}: unsupported fieldRef ${fieldRef.fieldPath}` };
      env[e.name] = value;
    } else if (configMapKeyRef || secretKeyRef) {
      const ref = (configMapKeyRef ?? secretKeyRef)!;
      const kind = configMapKeyRef ? 'configmap' : 'secret';
      const value = (configMapKeyRef ? sources.configMaps : sources.secrets).get(ref.name!)?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        return { error: `env ${e.name}: ${kind} "${ref.name}" has no key "${ref.key}"` };
      }
      env[e.name] = value;
    } else if (resourceFieldRef) {
      // No cgroups here: report "unlimited" the way the kubelet does without limits, as node capacity.
      env[e.name] = '0';
    }
  }
  return { env };
}

/** Docker-link style variables for the Services of a namespace, as the kubelet injects them. */
export function serviceEnv(services: readonly { name: string; clusterIP?: string; ports: { name?: string; port: number; protocol?: string }[] }[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    if (!svc.clusterIP || svc.clusterIP === 'None' || svc.ports.length === 0) continue;
    const prefix = svc.name.toUpperCase().replace(/-/g, '_');
    const first = svc.ports[0]!;
    env[`${prefix}_SERVICE_HOST`] = svc.clusterIP;
    env[`${prefix}_SERVICE_PORT`] = String(first.port);
    for (const p of svc.ports) {
      if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    }
  }
  return env;
}
