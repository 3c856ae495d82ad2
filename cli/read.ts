// The cluster reads the CLI makes, one function each, through core's client.
import type { CoreV1Event, KubernetesListObject, KubernetesObject, V1ConfigMap, V1Deployment, V1Namespace, V1Pod, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { SYSTEM_NAMESPACE } from '../core/annotations.ts';
import { clusterDefaultsFromConfigMap, DEFAULTS_CONFIGMAP, type ClusterDefaults } from '../core/cluster-defaults.ts';
import { isStatus, type KubeClient } from '../core/kube-client.ts';
import type { HpaRef } from './autoscale.ts';

const scoped = (namespace: string | undefined, resource: string, group = '/api/v1') => (namespace ? `${group}/namespaces/${namespace}/${resource}` : `${group}/${resource}`);

async function list<T extends KubernetesObject>(client: KubeClient, path: string, query?: Record<string, string>): Promise<T[]> {
  return (await client.request<KubernetesListObject<T>>('GET', path, query ? { query } : {})).items;
}

export const listDeployments = (client: KubeClient, namespace?: string) => list<V1Deployment>(client, scoped(namespace, 'deployments', '/apis/apps/v1'));
export const listPods = (client: KubeClient, namespace?: string) => list<V1Pod>(client, scoped(namespace, 'pods'));
export const listServices = (client: KubeClient, namespace?: string) => list<V1Service>(client, scoped(namespace, 'services'));
/** Only Events about Deployments: Lull records nothing else. */
export const listDeploymentEvents = (client: KubeClient, namespace?: string) => list<CoreV1Event>(client, scoped(namespace, 'events'), { fieldSelector: 'involvedObject.kind=Deployment' });

/** Labels of each namespace; for one namespace, only that one (undefined entry when it does not exist). */
export async function namespaceLabels(client: KubeClient, namespace?: string): Promise<Map<string, Record<string, string>>> {
  if (namespace === undefined) {
    const all = await list<V1Namespace>(client, '/api/v1/namespaces');
    return new Map(all.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.labels ?? {}]));
  }
  try {
    const ns = await client.request<V1Namespace>('GET', `/api/v1/namespaces/${namespace}`);
    return new Map([[namespace, ns.metadata?.labels ?? {}]]);
  } catch (err) {
    // Not there, or not readable by this user: the annotation alone then decides who is managed.
    if (isStatus(err, 404, 403)) return new Map();
    throw err;
  }
}

export async function getDeployment(client: KubeClient, namespace: string, name: string): Promise<V1Deployment | undefined> {
  try {
    return await client.request<V1Deployment>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

/** The cluster-wide defaults in Lull's ConfigMap; the built-in ones when it is absent or not readable. */
export async function readClusterDefaults(client: KubeClient, lullNamespace = SYSTEM_NAMESPACE): Promise<ClusterDefaults> {
  try {
    const cm = await client.request<V1ConfigMap>('GET', `/api/v1/namespaces/${lullNamespace}/configmaps/${DEFAULTS_CONFIGMAP}`);
    return clusterDefaultsFromConfigMap(cm.data);
  } catch (err) {
    if (isStatus(err, 404, 403)) return clusterDefaultsFromConfigMap(undefined);
    throw err;
  }
}

/** HorizontalPodAutoscalers (autoscaling/v2); none when the user may not list them. */
export async function listHpas(client: KubeClient, namespace?: string): Promise<HpaRef[]> {
  try {
    return await list<V2HorizontalPodAutoscaler>(client, scoped(namespace, 'horizontalpodautoscalers', '/apis/autoscaling/v2'));
  } catch (err) {
    if (isStatus(err, 404, 403)) return [];
    throw err;
  }
}
