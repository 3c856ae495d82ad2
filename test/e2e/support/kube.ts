// What e2e tests get from the global setup (test/cluster/global-setup.ts): the skip guard every e2e
// file uses, the pinned kubectl and API clients on the admin kubeconfig. Nothing here runs at import.
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, inject } from 'vitest';
import { kubectlOf, type Kubectl } from './kubectl.ts';

/**
 * Every e2e suite is behind this. Outside CI a machine that cannot run the cluster skips them (the
 * global setup said why, loudly); with CI=true the global setup fails instead, so nothing skips.
 */
export const onCluster = describe.skipIf(inject('clusterSkipReason') !== null);

const NO_CLUSTER = 'the e2e global setup did not start the cluster: run e2e files in the e2e project (vitest --project e2e)';

function kubeconfigPath(): string {
  const path = inject('kubeconfig');
  if (!path) throw new Error(NO_CLUSTER);
  return path;
}

/** The pinned kubectl on the cluster's admin kubeconfig. Safe at import: it fails on first use, never reaching an ambient KUBECONFIG, when no cluster runs. */
export const clusterKubectl = (): Kubectl => kubectlOf(inject('kubectl'), inject('kubeconfig'));

export function kube() {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}
