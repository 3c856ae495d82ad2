// The app a wake or sleep names: it must exist, be Lull's, and be onboarded; each miss is a clear error.
import type { V1Deployment } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import type { KubeClient } from '../core/kube-client.ts';
import { membership } from '../core/opt-in.ts';
import { lullMissing } from '../core/prerequisites.ts';
import { SYSTEM_NAMESPACE } from '../core/annotations.ts';
import { unknownAnnotations } from '../core/app-problems.ts';
import { displayState } from './app-view.ts';
import { getDeployment, namespaceLabels } from './read.ts';

/** Pure: why Lull does not manage it, in the user's terms. */
export function notManagedReason(namespace: string, annotations: Record<string, string> | undefined, labels: Record<string, string> | undefined): string {
  if (namespace === SYSTEM_NAMESPACE || namespace === 'kube-system') return `Lull never manages ${namespace}`;
  const enabled = annotations?.['lull.dev/enabled'];
  if (enabled === 'false') return 'it has lull.dev/enabled=false';
  if (enabled !== undefined) return `lull.dev/enabled has the value ${JSON.stringify(enabled)}`;
  const missing = labels === undefined ? 'it has no lull.dev/enabled annotation' : 'it has no lull.dev/enabled annotation and its namespace is not labelled lull.dev/inject=enabled';
  // A misspelt opt-in is the likely why: say which key it meant.
  const typo = unknownAnnotations(annotations, false).find((p) => p.effect === 'will not sleep');
  return typo ? `${missing}: ${typo.message}` : missing;
}

export async function resolveApp(client: KubeClient, namespace: string, name: string): Promise<V1Deployment> {
  const [deployment, labels] = await Promise.all([getDeployment(client, namespace, name), namespaceLabels(client, namespace)]);
  if (deployment === undefined) throw lullError(errors.appNotFound, name, namespace);
  const nsLabels = labels.get(namespace);
  if (membership(namespace, deployment.metadata?.annotations, nsLabels, SYSTEM_NAMESPACE) !== 'in') {
    throw lullError(errors.appNotOptedIn, name, namespace, notManagedReason(namespace, deployment.metadata?.annotations, nsLabels), namespace, name);
  }
  if (displayState(deployment) === 'onboarding') {
    const missing = await lullMissing(client);
    if (missing !== undefined) throw lullError(errors.lullNotInstalled, missing);
    const why = deployment.metadata?.annotations?.['lull.dev/injected'] === undefined ? 'the webhook has not injected the sidecar' : 'the reconciler has not recorded its state';
    throw lullError(errors.appNotOnboarded, name, namespace, why);
  }
  return deployment;
}
