// Writes the CA bundle into the webhook configurations so the apiserver trusts the serving certificate.
import type { Operation } from 'fast-json-patch';
import { errors, lullError } from '../core/errors.ts';
import { isStatus, type KubeClient } from '../core/kube-client.ts';

export type WebhookConfigKind = 'mutatingwebhookconfigurations' | 'validatingwebhookconfigurations';

interface WebhookConfiguration {
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

/** Pure: a patch setting every webhook's caBundle, each guarded by a test of the webhook's name. */
export function caBundlePatch(config: WebhookConfiguration, bundlePem: string): Operation[] {
  const value = Buffer.from(bundlePem).toString('base64');
  return (config.webhooks ?? []).flatMap((webhook, i): Operation[] =>
    webhook.clientConfig?.caBundle === value
      ? []
      : [
          { op: 'test', path: `/webhooks/${i}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value },
        ],
  );
}

/**
 * Makes the named configuration carry `bundlePem`; returns false when it does not exist (yet).
 * Writes only when something differs, so replicas agreeing on the bundle never write.
 */
export async function writeCaBundle(client: KubeClient, kind: WebhookConfigKind, name: string, bundlePem: string): Promise<boolean> {
  const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${encodeURIComponent(name)}`;
  try {
    const config = await client.request<WebhookConfiguration>('GET', path);
    const patch = caBundlePatch(config, bundlePem);
    if (patch.length > 0) await client.request('PATCH', path, { body: patch, contentType: 'application/json-patch+json' });
    return true;
  } catch (err) {
    if (isStatus(err, 404)) return false;
    throw lullError(errors.webhookCaBundle, kind, name, err instanceof Error ? err.message : String(err));
  }
}
