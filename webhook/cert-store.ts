// The CA and the serving certificate live in two Secrets shared by every replica: the CA's key apart
// from the serving key, so whatever reads the serving Secret cannot mint certificates. Writes are optimistic.
import type { V1Secret } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { isStatus, type KubeClient } from '../core/kube-client.ts';
import { fromSecretsData, holdsCaKey, planTls, renewTls, toSecretsData, type TlsMaterial, type TlsSettings } from './tls-material.ts';

/** The Secret as the API has it; create fails with 409 if it exists, replace with 409 if it changed. */
export interface SecretApi {
  readonly name: string;
  get(): Promise<V1Secret | undefined>;
  create(secret: V1Secret): Promise<V1Secret>;
  replace(secret: V1Secret): Promise<V1Secret>;
}

export interface TlsSecrets {
  /** CA certificate and key (and the previous CA during its overlap). */
  ca: SecretApi;
  /** Serving certificate and key (kubernetes.io/tls), and the CA certificate for reference. */
  serving: SecretApi;
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
const LABELS = { 'app.kubernetes.io/name': 'lull', 'app.kubernetes.io/component': 'webhook' };

/** Creates the Secret, or replaces it as read (its resourceVersion makes a concurrent write a 409). */
async function write(api: SecretApi, read: V1Secret | undefined, type: string, data: Record<string, string>): Promise<void> {
  if (read === undefined) await api.create({ apiVersion: 'v1', kind: 'Secret', type, metadata: { labels: LABELS }, data });
  else await api.replace({ ...read, type: read.type ?? type, data });
}

const sameData = (a: Record<string, string> | undefined, b: Record<string, string>) =>
  a !== undefined && Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/**
 * Reads the Secrets and returns material that needs nothing done, writing a renewal first when due.
 * The CA Secret is written before the serving Secret, so a serving certificate is never stored without
 * its CA. A replica that loses a race (409) reads again and takes what the winner wrote. `inUse`: what
 * this replica serves now. A serving Secret from before the split (holding the CA key) is split.
 */
export async function ensureTls(secrets: TlsSecrets, settings: TlsSettings, logger: Logger, now: () => number = Date.now, inUse?: TlsMaterial): Promise<TlsMaterial> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const [caSecret, servingSecret] = await Promise.all([secrets.ca.get(), secrets.serving.get()]);
    const material = fromSecretsData(caSecret?.data, servingSecret?.data);
    const plan = planTls(material, settings, now());
    const next = plan.action === 'use' ? material! : renewTls(material, plan, settings, inUse);
    const data = toSecretsData(next);
    const split = holdsCaKey(servingSecret?.data);
    if (plan.action === 'use' && !split && sameData(caSecret?.data, data.ca)) return next;
    try {
      if (!sameData(caSecret?.data, data.ca)) await write(secrets.ca, caSecret, 'Opaque', data.ca);
      if (!sameData(servingSecret?.data, data.serving)) await write(secrets.serving, servingSecret, 'kubernetes.io/tls', data.serving);
      const action = plan.action === 'use' ? 'split' : plan.action;
      const reason = plan.action === 'use' ? 'the CA key moves out of the serving Secret' : plan.reason;
      logger.info({ ca: secrets.ca.name, serving: secrets.serving.name, action, reason }, 'webhook certificate written');
      return next;
    } catch (err) {
      if (!isStatus(err, 409)) throw lullError(errors.webhookCertificate, `${secrets.ca.name}, ${secrets.serving.name}`, err instanceof Error ? err.message : String(err));
      lastError = err;
      logger.debug({ ca: secrets.ca.name, serving: secrets.serving.name }, 'another replica wrote the certificate first; reading it');
    }
  }
  throw lullError(errors.webhookCertificate, `${secrets.ca.name}, ${secrets.serving.name}`, `still conflicting after ${ATTEMPTS} attempts: ${String(lastError)}`);
}
