// After Lull is upgraded, pods keep the sidecar they were injected with until their Deployment rolls.
// Which release is installed (what the webhook injects now) and whether an app's sidecar is it:
// `lull status` flags the difference, the reconciler rolls apps annotated lull.dev/auto-upgrade-sidecar.
import type { V1Deployment } from '@kubernetes/client-node';
import { INJECTED } from './annotations.ts';
import { LULL_IMAGE_REPOSITORY, SIDECAR_CONTAINER_NAME } from './sidecar-contract.ts';

export interface SidecarRelease {
  /** What the webhook records in lull.dev/injected. */
  version: string;
  /** The sidecar image it injects; undefined when not known (only the version is compared then). */
  image?: string;
}

/** The webhook's Deployment, whose flags say what it injects. */
export const WEBHOOK_DEPLOYMENT = 'lull-webhook';

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i !== -1) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Pure: "ghcr.io/lull-dev/lull:0.2.0" → "0.2.0"; no tag (or only a digest) → undefined. */
export function imageTag(image: string): string | undefined {
  const name = image.split('@', 1)[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

/**
 * Pure: the release the installed webhook injects, from its Deployment: its --sidecar-version (else
 * the recommended version label, else its own image's tag, as the webhook defaults it) and --sidecar-image.
 */
export function installedRelease(webhook: V1Deployment): SidecarRelease | undefined {
  const container = webhook.spec?.template?.spec?.containers?.find((c) => (c.args ?? [])[0] === 'webhook') ?? webhook.spec?.template?.spec?.containers?.[0];
  if (container === undefined) return undefined;
  const args = container.args ?? [];
  const version = flag(args, 'sidecar-version') ?? webhook.metadata?.labels?.['app.kubernetes.io/version'] ?? imageTag(container.image ?? '');
  if (version === undefined) return undefined;
  return { version, image: flag(args, 'sidecar-image') ?? `${LULL_IMAGE_REPOSITORY}:${version}` };
}

/** What an app runs: the version the webhook recorded and the injected container's image. */
export function injectedRelease(deployment: V1Deployment): SidecarRelease | undefined {
  const version = deployment.metadata?.annotations?.[INJECTED];
  const sidecar = deployment.spec?.template?.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  if (version === undefined || sidecar === undefined) return undefined;
  return { version, ...(sidecar.image ? { image: sidecar.image } : {}) };
}

/** Pure: whether the injected sidecar differs from the installed release (by version, or by image when both are known). */
export function sidecarOutdated(injected: SidecarRelease | undefined, installed: SidecarRelease | undefined): boolean {
  if (injected === undefined || installed === undefined) return false;
  if (injected.version !== installed.version) return true;
  return injected.image !== undefined && installed.image !== undefined && injected.image !== installed.image;
}
