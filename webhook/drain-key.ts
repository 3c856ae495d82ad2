// The key behind every Deployment's drain token: random once, kept in a Secret every replica shares,
// so the token of a Deployment is the same at each admission (re-admission stays an empty patch).
import { createHmac, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import { isStatus } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';
import type { SecretApi } from './cert-store.ts';

export const DRAIN_KEY_FIELD = 'drain.key';
const KEY_BYTES = 32;
const ATTEMPTS = 5;

/**
 * The token the preStop hook sends and the sidecar expects: only who can read the Deployment (or its
 * pods) learns it, and it names one Deployment, so it drains no other.
 */
export function drainToken(key: Buffer, namespace: string, name: string): string {
  return createHmac('sha256', key).update(`${namespace}/${name}`).digest('base64url');
}

function keyOf(secret: V1Secret | undefined): Buffer | undefined {
  const text = secret?.data?.[DRAIN_KEY_FIELD];
  const key = text === undefined ? undefined : Buffer.from(text, 'base64');
  return key !== undefined && key.length >= KEY_BYTES ? key : undefined;
}

/** Reads the key, creating the Secret on first start; a replica that loses the race (409) takes the winner's. */
export async function ensureDrainKey(api: SecretApi, logger: Logger): Promise<Buffer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const secret = await api.get();
    const existing = keyOf(secret);
    if (existing !== undefined) return existing;
    const key = randomBytes(KEY_BYTES);
    const data = { ...secret?.data, [DRAIN_KEY_FIELD]: key.toString('base64') };
    try {
      if (secret === undefined) {
        await api.create({
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { labels: { 'app.kubernetes.io/name': 'lull', 'app.kubernetes.io/component': 'webhook' } },
          data,
        });
      } else {
        await api.replace({ ...secret, data });
      }
      // A new key changes every Deployment's token: each rolls out at its next admission.
      logger.info({ secret: api.name }, 'drain key written');
      return key;
    } catch (err) {
      if (!isStatus(err, 409)) throw lullError(errors.webhookDrainKey, api.name, err instanceof Error ? err.message : String(err));
      lastError = err;
    }
  }
  throw lullError(errors.webhookDrainKey, api.name, `still conflicting after ${ATTEMPTS} attempts: ${String(lastError)}`);
}
