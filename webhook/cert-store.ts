// The CA and serving certificate live in one Secret shared by every replica; writes are optimistic.
import type { V1Secret } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { isStatus, type KubeClient } from '../core/kube-client.ts';
import { fromSecretData, planTls, renewTls, toSecretData, type TlsMaterial, type TlsSettings } from './tls-material.ts';

/** The Secret as the API has it; create fails with 409 if it exists, replace with 409 if it changed. */
export interface SecretApi {
  readonly name: string;
  get(): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<V1Secret>;
  replace(secret: V1Secret): Promise<V1Secret>;
}

export function secretApi(client: KubeClient, namespace: string, name: string): SecretApi {
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const item = `${collection}/${encodeURIComponent(name)}`;
  return {
    name: `${namespace}/${name}`,
    async get() {
      try {
        return await client.request<V1Secret>('GET', item);
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    create: (secret) => client.request<V1Secret>('POST', collection, { body: { ...secret, metadata: { ...secret.metadata, name, namespace } } }),
    replace: (secret) => client.request<V1Secret>('PUT', item, { body: secret }),
  };
}

const ATTEMPTS = 5;

/**
 * Reads the Secret and returns material that needs nothing done, writing a renewal first when due.
 * A replica that loses a race (409) reads again and takes what the winner wrote. `inUse`: what this
 * replica serves now.
 */
export async function ensureTls(api: SecretApi, settings: TlsSettings, logger: Logger, now: () => number = Date.now, inUse?: TlsMaterial): Promise<TlsMaterial> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const secret = await api.get();
    const material = fromSecretData(secret?.data);
    const plan = planTls(material, settings, now());
    if (plan.action === 'use') return material!;
    const next = renewTls(material, plan, settings, inUse);
    try {
      if (secret === undefined) {
        await api.create({
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: { labels: { 'app.kubernetes.io/name': 'lull', 'app.kubernetes.io/component': 'webhook' } },
          data: toSecretData(next),
        });
      } else {
        // resourceVersion stays in metadata: a replica that wrote in between makes this a 409.
        await api.replace({ ...secret, type: secret.type ?? 'kubernetes.io/tls', data: toSecretData(next) });
      }
      logger.info({ secret: api.name, action: plan.action, reason: plan.reason }, 'webhook certificate written');
      return next;
    } catch (err) {
      if (!isStatus(err, 409)) throw lullError(errors.webhookCertificate, api.name, err instanceof Error ? err.message : String(err));
      lastError = err;
      logger.debug({ secret: api.name }, 'another replica wrote the certificate first; reading it');
    }
  }
  throw lullError(errors.webhookCertificate, api.name, `still conflicting after ${ATTEMPTS} attempts: ${String(lastError)}`);
}
