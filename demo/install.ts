// Lull onto the cluster from deploy/ (or another kustomization or manifest file): apply, then wait
// until every part's Deployment has rolled out and the reconciler has a leader.
import { readFileSync, statSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { V1Lease } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import type { Kubectl } from './kubectl.ts';
import { watchUntil } from '../core/wait-for.ts';

export interface Part {
  namespace: string;
  name: string;
  replicas: number;
  serviceAccount: string;
}

export interface Manifests {
  objects: number;
  parts: Part[];
  /** Where the parts run (lull-system, unless the manifests say otherwise). */
  namespace: string;
}

/** Pure: what the rendered manifests install. */
export function readManifests(yaml: string): Manifests {
  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, any> | null).filter((d): d is Record<string, any> => d !== null && typeof d === 'object');
  const parts = docs
    .filter((d) => d.kind === 'Deployment')
    .map((d) => ({ namespace: d.metadata.namespace ?? 'default', name: d.metadata.name, replicas: d.spec?.replicas ?? 1, serviceAccount: d.spec?.template?.spec?.serviceAccountName ?? 'default' }));
  return { objects: docs.length, parts, namespace: parts[0]?.namespace ?? 'lull-system' };
}

export async function render(kubectl: Kubectl, source: string): Promise<string> {
  return statSync(source).isDirectory() ? kubectl(['kustomize', source]) : readFileSync(source, 'utf8');
}

export async function apply(kubectl: Kubectl, source: string): Promise<void> {
  await kubectl(statSync(source).isDirectory() ? ['apply', '-k', source] : ['apply', '-f', source]);
}

export async function rolledOut(kubectl: Kubectl, part: Part, timeoutMs: number): Promise<void> {
  await kubectl(['rollout', 'status', `deploy/${part.name}`, '-n', part.namespace, `--timeout=${Math.ceil(timeoutMs / 1000)}s`]);
}

/** The reconciler replica holding the Lease, once one does. */
export function leader(client: KubeClient, namespace: string, timeoutMs: number): Promise<string> {
  return watchUntil<V1Lease, string>({ client, path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, fieldSelector: 'metadata.name=lull-reconciler' }, (c) => c.list()[0]?.spec?.holderIdentity || undefined, timeoutMs, 'a reconciler to lead');
}
