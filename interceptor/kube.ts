// Every Kubernetes call the interceptor makes, behind one small interface so the rest can be tested
// without a cluster: a watch of the route records in Lull's namespace and, per waking app, of its
// Deployment, pods and EndpointSlices; the guarded scale; the waking annotation; Events.
import type { CoreV1Event, KubeConfig, V1ConfigMap, V1Deployment, V1EndpointSlice, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { informer, type Informer } from '../core/informer.ts';
import { ROUTE_SELECTOR, SERVICE_NAME_LABEL } from '../core/interceptor-contract.ts';
import { isStatus, kubeClient, PATCH, KubeApiError } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';
import { isTestFailure, scalePatch, wakingPatch } from '../core/wake.ts';

/** A cache the interceptor reads: synced once listed, stopped when the app is dropped. */
export type Watched<T> = Pick<Informer<T>, 'hasSynced' | 'list' | 'stop'>;

export interface ClusterApi {
  /** The route records the reconciler writes (core/interceptor-contract.ts), and nothing else. */
  routes(onChange: () => void): Watched<V1ConfigMap>;
  deployment(namespace: string, name: string, onChange: () => void): Watched<V1Deployment>;
  /** One GET, no watch: what a first contact needs to wake the app; undefined when it does not exist. */
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  pods(namespace: string, labelSelector: string, onChange: () => void): Watched<V1Pod>;
  slices(namespace: string, service: string, onChange: () => void): Watched<V1EndpointSlice>;
  /** 'lost' when the app was no longer at zero: someone else woke it. */
  scale(namespace: string, name: string, replicas: number): Promise<'scaled' | 'lost'>;
  /** state=waking over state=sleeping; false when the state was something else. */
  markWaking(namespace: string, name: string): Promise<boolean>;
  record(event: CoreV1Event): Promise<void>;
  /** One GET of a ConfigMap the app names (its custom waiting page); undefined when it does not exist. */
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

/** Idle connections kept this long, and a call every half of it: under the usual 60 s+ idle timeouts of servers and load balancers. */
const KEEP_ALIVE_MS = 60_000;

/** The HTTP status of a failed call, when it has one. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.statusCode : undefined;
}

/** Pure: a Deployment's selector as a label selector string (matchLabels and matchExpressions). */
export function selectorString(selector: V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** `lullNamespace`: where the reconciler writes the route records (the interceptor's own namespace). */
export function clusterApi(kc: KubeConfig, log: Logger, lullNamespace: string): ClusterApi {
  // Pooled connections for calls, kept open by a cheap call now and then: a first contact's GET and
  // scale should not wait on a TLS handshake (tens of ms on a busy node).
  const client = kubeClient(kc, { keepAliveMs: KEEP_ALIVE_MS });
  setInterval(() => void client.request('GET', '/version').catch(() => undefined), KEEP_ALIVE_MS / 2).unref();
  // onChange: any add, update or delete, and once when the first list is in (not per listed object).
  const watch = <T>(path: string, selectors: { labelSelector?: string; fieldSelector?: string }, onChange: () => void): Watched<T> => {
    const cache: Informer<T> = informer<T>({ client, path, ...selectors, logger: log, onChange: () => cache.hasSynced() && onChange(), onSynced: onChange });
    return cache.start();
  };
  const deployments = (namespace: string) => `/apis/apps/v1/namespaces/${namespace}/deployments`;
  return {
    routes: (onChange) => watch<V1ConfigMap>(`/api/v1/namespaces/${lullNamespace}/configmaps`, { labelSelector: ROUTE_SELECTOR }, onChange),
    deployment: (namespace, name, onChange) => watch<V1Deployment>(deployments(namespace), { fieldSelector: `metadata.name=${name}` }, onChange),
    async getDeployment(namespace, name) {
      try {
        return await client.request<V1Deployment>('GET', `${deployments(namespace)}/${name}`);
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    pods: (namespace, labelSelector, onChange) => watch<V1Pod>(`/api/v1/namespaces/${namespace}/pods`, { labelSelector }, onChange),
    slices: (namespace, service, onChange) =>
      watch<V1EndpointSlice>(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, { labelSelector: `${SERVICE_NAME_LABEL}=${service}` }, onChange),
    async scale(namespace, name, replicas) {
      try {
        await client.request('PATCH', `${deployments(namespace)}/${name}/scale`, { body: scalePatch(replicas), contentType: PATCH.json });
        return 'scaled';
      } catch (err) {
        if (isTestFailure(err)) return 'lost';
        throw err;
      }
    },
    async markWaking(namespace, name) {
      try {
        await client.request('PATCH', `${deployments(namespace)}/${name}`, { body: wakingPatch(), contentType: PATCH.json });
        return true;
      } catch (err) {
        if (isTestFailure(err)) return false;
        throw err;
      }
    },
    async record(event) {
      await client.request('POST', `/api/v1/namespaces/${event.metadata?.namespace ?? 'default'}/events`, { body: event });
    },
    async getConfigMap(namespace, name) {
      try {
        return await client.request<V1ConfigMap>('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
  };
}
