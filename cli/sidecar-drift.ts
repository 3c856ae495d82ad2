// `lull status`: apps whose injected sidecar is not what the installed Lull injects (after an upgrade,
// until they roll), with how to roll them.
import type { V1Deployment } from '@kubernetes/client-node';
import { AUTO_UPGRADE_SIDECAR, SYSTEM_NAMESPACE, parseAnnotations } from '../core/annotations.ts';
import type { AppProblem } from '../core/app-problems.ts';
import { errors, lullError } from '../core/errors.ts';
import type { KubeClient } from '../core/kube-client.ts';
import { injectedRelease, installedRelease, sidecarOutdated, WEBHOOK_DEPLOYMENT, type SidecarRelease } from '../core/sidecar-upgrade.ts';
import { getDeployment } from './read.ts';

/** What the installed webhook injects; undefined when its Deployment cannot be read (not installed, or no RBAC). */
export async function readInstalledRelease(client: KubeClient, lullNamespace = SYSTEM_NAMESPACE): Promise<SidecarRelease | undefined> {
  const webhook = await getDeployment(client, lullNamespace, WEBHOOK_DEPLOYMENT).catch(() => undefined);
  return webhook === undefined ? undefined : installedRelease(webhook);
}

/** Pure: the problem line for an app whose sidecar is not the installed release's, if it is not. */
export function sidecarDrift(deployment: V1Deployment, installed: SidecarRelease | undefined): AppProblem | undefined {
  const injected = injectedRelease(deployment);
  if (injected === undefined || installed === undefined || !sidecarOutdated(injected, installed)) return undefined;
  const name = deployment.metadata?.name ?? '';
  const namespace = deployment.metadata?.namespace ?? '';
  const how = parseAnnotations(deployment.metadata?.annotations).autoUpgradeSidecar
    ? `the reconciler rolls it (${AUTO_UPGRADE_SIDECAR})`
    : `roll it with kubectl rollout restart deployment/${name} -n ${namespace}, or annotate it ${AUTO_UPGRADE_SIDECAR}=true`;
  const { code, message } = lullError(errors.sidecarOutdated, injected.version, installed.version, how);
  return { code, effect: 'outdated', message };
}
