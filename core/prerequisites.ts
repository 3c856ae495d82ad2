// What the CLI and the benchmarks check before they start: a cluster answers, the namespace exists,
// Lull is installed. Each miss is one line with the command that fixes it, instead of a hang or a 404.
import { existsSync } from 'node:fs';
import { errors, lullError } from './errors.ts';
import { isStatus, KubeApiError, type KubeClient } from './kube-client.ts';

/** The kubeconfig file is there; `path` is where it was looked for. */
export function requireKubeconfig(path: string): void {
  if (!existsSync(path)) throw lullError(errors.noCluster, path, 'that kubeconfig does not exist');
}

/** The API server answers (any HTTP answer counts: it is there). `source`: where its address came from. */
export async function requireCluster(client: KubeClient, source: string): Promise<void> {
  const server = client.config.getCurrentCluster()?.server ?? '(no server)';
  try {
    await client.request('GET', '/version', { timeoutMs: 5000 });
  } catch (err) {
    if (err instanceof KubeApiError) return;
    const cause = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw lullError(errors.noCluster, `${server} (from ${source})`, cause);
  }
}

/** The namespace exists; `fix` says what to do when it does not. */
export async function requireNamespace(client: KubeClient, namespace: string, fix = `create it: kubectl create namespace ${namespace}`): Promise<void> {
  try {
    await client.request('GET', `/api/v1/namespaces/${namespace}`);
  } catch (err) {
    if (isStatus(err, 404)) throw lullError(errors.namespaceMissing, namespace, fix);
    // Not allowed to read namespaces: the command itself will say what it cannot do.
    if (!isStatus(err, 403)) throw err;
  }
}

/** Creates the namespace when it is missing (benchmarks that run Lull's parts on the host need lull-system). */
export async function ensureNamespace(client: KubeClient, namespace: string): Promise<boolean> {
  try {
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
    return true;
  } catch (err) {
    if (isStatus(err, 409)) return false;
    throw err;
  }
}

/**
 * Why Lull does not look installed, or undefined when it does (or when this user may not look). Its
 * webhook configurations carry app.kubernetes.io/part-of=lull whatever their names.
 */
export async function lullMissing(client: KubeClient): Promise<string | undefined> {
  try {
    const list = await client.request<{ items?: unknown[] }>('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', { query: { labelSelector: 'app.kubernetes.io/part-of=lull' } });
    return (list.items?.length ?? 0) === 0 ? 'no MutatingWebhookConfiguration labelled app.kubernetes.io/part-of=lull' : undefined;
  } catch (err) {
    if (isStatus(err, 403)) return undefined;
    throw err;
  }
}
