// What end-to-end tests need of the cluster: clients on the admin kubeconfig, a namespace of their
// own, and waiting for a condition instead of sleeping.
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { describe, inject } from 'vitest';

export function kube() {
  const path = inject('kubeconfig') || process.env.KUBECONFIG;
  if (!path) throw new Error('KUBECONFIG is not set: the e2e global setup did not start the cluster');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

/** Polls `check` until it returns a value other than undefined/false, or fails naming what it waited for. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function createNamespace(core: CoreV1Api, prefix: string, labels?: Record<string, string>): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels } } });
  // The serviceaccount controller must have made `default` before pods can be admitted.
  await waitFor(`the default ServiceAccount in ${name}`, () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true));
  return name;
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

/** Outside CI, a machine that cannot run the cluster skips e2e suites (the global setup said why, loudly). */
export const onCluster = describe.skipIf(inject('clusterSkipReason') !== null);
