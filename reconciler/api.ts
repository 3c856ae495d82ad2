// Every write the reconciler makes, one function each; reads come from the informers, except the
// fresh read that guards the scale to zero.
import type { V1ConfigMap, V1Deployment, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { TOUCHED_AT } from '../core/annotations.ts';
import { buildRouteRecord, parseRouteRecord, routeRecordName, type RouteRecord } from '../core/interceptor-contract.ts';
import { isStatus, PATCH, type KubeClient } from '../core/kube-client.ts';
import { trimDeployment, trimSlice, type DeploymentObj, type SliceObj } from '../core/objects.ts';
import type { DesiredSlice } from './slices.ts';

/** Annotation changes: a value sets, null removes. */
export type AnnotationChanges = Record<string, string | null>;

const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
const servicePath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/services/${name}`;
const slicesPath = (ns: string) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;

export interface Api {
  getDeployment(ns: string, name: string): Promise<DeploymentObj | undefined>;
  /** With `resourceVersion`, only if the Deployment has not changed since (else a 409 KubeApiError). */
  annotateDeployment(ns: string, name: string, changes: AnnotationChanges, resourceVersion?: string): Promise<DeploymentObj>;
  annotateService(ns: string, name: string, changes: AnnotationChanges, resourceVersion?: string): Promise<void>;
  /** Through the scale subresource; with `resourceVersion`, only if the Deployment has not changed since. */
  scale(ns: string, name: string, replicas: number, resourceVersion?: string): Promise<void>;
  /** A no-op annotation write that re-submits the object through the webhook. */
  touch(kind: 'deployment' | 'service', ns: string, name: string, at: Date): Promise<void>;
  getSlice(ns: string, name: string): Promise<SliceObj | undefined>;
  createSlice(slice: DesiredSlice): Promise<SliceObj>;
  replaceSlice(slice: DesiredSlice, resourceVersion: string): Promise<SliceObj>;
  /** True when it was there. */
  deleteSlice(ns: string, name: string): Promise<boolean>;
  /** Route records, in Lull's namespace. Create fails with 409 when the port already has one. */
  createRecord(record: RouteRecord): Promise<void>;
  replaceRecord(record: RouteRecord): Promise<void>;
  /** What the port's record says (null: there is one, not well-formed; undefined: none). */
  getRecord(port: number): Promise<RouteRecord | null | undefined>;
  deleteRecord(port: number): Promise<void>;
}

/** `lullNamespace`: where the route records live (Lull's own namespace). */
export function api(client: KubeClient, lullNamespace: string): Api {
  const recordsPath = `/api/v1/namespaces/${lullNamespace}/configmaps`;
  const annotate = (path: string, changes: AnnotationChanges, resourceVersion?: string) =>
    client.request<unknown>('PATCH', path, {
      body: { metadata: { annotations: changes, ...(resourceVersion ? { resourceVersion } : {}) } },
      contentType: PATCH.merge,
    });
  return {
    async getDeployment(ns, name) {
      try {
        return trimDeployment(await client.request<V1Deployment>('GET', deploymentPath(ns, name)));
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async annotateDeployment(ns, name, changes, resourceVersion) {
      return trimDeployment((await annotate(deploymentPath(ns, name), changes, resourceVersion)) as V1Deployment);
    },
    async annotateService(ns, name, changes, resourceVersion) {
      await annotate(servicePath(ns, name), changes, resourceVersion) as V1Service;
    },
    async scale(ns, name, replicas, resourceVersion) {
      // A PUT of the Scale with resourceVersion is a compare-and-swap on the whole Deployment.
      if (resourceVersion) {
        await client.request('PUT', `${deploymentPath(ns, name)}/scale`, {
          body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: ns, resourceVersion }, spec: { replicas } },
        });
      } else {
        await client.request('PATCH', `${deploymentPath(ns, name)}/scale`, { body: { spec: { replicas } }, contentType: PATCH.merge });
      }
    },
    async touch(kind, ns, name, at) {
      const path = kind === 'deployment' ? deploymentPath(ns, name) : servicePath(ns, name);
      await annotate(path, { [TOUCHED_AT]: at.toISOString() });
    },
    async getSlice(ns, name) {
      try {
        return trimSlice(await client.request<V1EndpointSlice>('GET', `${slicesPath(ns)}/${name}`));
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async createSlice(slice) {
      return trimSlice(await client.request<V1EndpointSlice>('POST', slicesPath(slice.metadata.namespace), { body: slice }));
    },
    async replaceSlice(slice, resourceVersion) {
      const body = { ...slice, metadata: { ...slice.metadata, resourceVersion } };
      return trimSlice(await client.request<V1EndpointSlice>('PUT', `${slicesPath(slice.metadata.namespace)}/${slice.metadata.name}`, { body }));
    },
    async deleteSlice(ns, name) {
      try {
        await client.request('DELETE', `${slicesPath(ns)}/${name}`);
        return true;
      } catch (err) {
        if (isStatus(err, 404)) return false;
        throw err;
      }
    },
    async createRecord(record) {
      await client.request('POST', recordsPath, { body: buildRouteRecord(record, lullNamespace) });
    },
    async replaceRecord(record) {
      const body = buildRouteRecord(record, lullNamespace);
      await client.request('PUT', `${recordsPath}/${body.metadata.name}`, { body });
    },
    async getRecord(port) {
      try {
        return parseRouteRecord(await client.request<V1ConfigMap>('GET', `${recordsPath}/${routeRecordName(port)}`)) ?? null;
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async deleteRecord(port) {
      try {
        await client.request('DELETE', `${recordsPath}/${routeRecordName(port)}`);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    },
  };
}
