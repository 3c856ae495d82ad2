// The drain token: one key kept in a Secret, a token per Deployment in its hooks and its sidecar's env.
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import type { SecretApi } from '../../../webhook/cert-store.ts';
import { DRAIN_KEY_FIELD, drainToken, ensureDrainKey } from '../../../webhook/drain-key.ts';
import { mutate } from '../../../webhook/mutate.ts';
import type { AdmissionContext } from '../../../webhook/admission-context.ts';
import type { AdmissionRequest } from '../../../webhook/admission-review.ts';
import { web, withDefaults } from './fixtures.ts';

const logger = createLogger('webhook', 'silent');

/** Stands in for the apiserver's Secret API (no apiserver in unit tests): optimistic concurrency, 409s. */
function memorySecrets(initial?: V1Secret): SecretApi & { writes: number } {
  let stored = initial && { ...initial, metadata: { ...initial.metadata, resourceVersion: '1' } };
  let version = 1;
  let writes = 0;
  const conflict = () => new KubeApiError('PUT', '/api/v1/namespaces/lull-system/secrets/lull-drain-key', 409, 'Conflict', 'Conflict');
  return {
    name: 'lull-system/lull-drain-key',
    get writes() {
      return writes;
    },
    async get() {
      return structuredClone(stored);
    },
    async create(secret) {
      if (stored) throw conflict();
      writes++;
      stored = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: String(++version) } };
      return structuredClone(stored);
    },
    async replace(secret) {
      if (secret.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) throw conflict();
      writes++;
      stored = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: String(++version) } };
      return structuredClone(stored);
    },
  };
}

describe('drainToken', () => {
  const key = Buffer.alloc(32, 7);
  it('is the same for a Deployment at every admission, and differs between Deployments', () => {
    expect(drainToken(key, 'shop', 'web')).toBe(drainToken(Buffer.alloc(32, 7), 'shop', 'web'));
    expect(drainToken(key, 'shop', 'web')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(drainToken(key, 'shop', 'api')).not.toBe(drainToken(key, 'shop', 'web'));
    expect(drainToken(key, 'shop2', 'web')).not.toBe(drainToken(key, 'shop', 'web'));
    expect(drainToken(Buffer.alloc(32, 8), 'shop', 'web')).not.toBe(drainToken(key, 'shop', 'web'));
  });
});

describe('ensureDrainKey', () => {
  it('creates the key once, then reads it', async () => {
    const secrets = memorySecrets();
    const first = await ensureDrainKey(secrets, logger);
    expect(first.length).toBe(32);
    expect(await ensureDrainKey(secrets, logger)).toEqual(first);
    expect(secrets.writes).toBe(1);
  });

  it('converges when replicas race to create it', async () => {
    const secrets = memorySecrets();
    const keys = await Promise.all([ensureDrainKey(secrets, logger), ensureDrainKey(secrets, logger), ensureDrainKey(secrets, logger)]);
    expect(keys[1]).toEqual(keys[0]);
    expect(keys[2]).toEqual(keys[0]);
    expect(secrets.writes).toBe(1);
  });

  it('keeps an existing key, and replaces one too short to be a key', async () => {
    const key = Buffer.alloc(32, 3);
    expect(await ensureDrainKey(memorySecrets({ data: { [DRAIN_KEY_FIELD]: key.toString('base64') } }), logger)).toEqual(key);
    const short = memorySecrets({ data: { [DRAIN_KEY_FIELD]: Buffer.from('abc').toString('base64'), other: 'eA==' } });
    const replaced = await ensureDrainKey(short, logger);
    expect(replaced.length).toBe(32);
    expect((await short.get())!.data).toEqual({ [DRAIN_KEY_FIELD]: replaced.toString('base64'), other: 'eA==' });
  });
});

describe('admission with a drain key', () => {
  const key = Buffer.alloc(32, 9);
  const context: AdmissionContext = {
    ownNamespace: 'lull-system',
    inject: { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' },
    drainKey: key,
    namespaceLabels: () => ({}),
    backends: () => [],
  };
  const request = (object: V1Deployment, oldObject?: V1Deployment): AdmissionRequest =>
    ({
      uid: 'u',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: object.metadata!.name!,
      namespace: 'shop',
      operation: oldObject ? 'UPDATE' : 'CREATE',
      userInfo: { username: 'kubernetes-admin' },
      object,
      oldObject: oldObject ?? null,
    }) as unknown as AdmissionRequest;
  const admit = (d: V1Deployment, old?: V1Deployment) => {
    const response = mutate(request(d, old), context);
    expect(response.allowed).toBe(true);
    const patch = JSON.parse(Buffer.from(response.patch ?? 'W10=', 'base64').toString());
    return withDefaults(jsonpatch.applyPatch(structuredClone(d), patch, true, false).newDocument);
  };

  const injected = admit(withDefaults(web));
  const sidecar = injected.spec!.template.spec!.initContainers!.find((c) => c.name === 'lull-sidecar')!;
  const token = drainToken(key, 'shop', 'web');

  it("puts the Deployment's token in its preStop hook and in its sidecar's env, with the node's addresses", () => {
    expect(injected.spec!.template.spec!.containers[0]!.lifecycle!.preStop).toEqual({
      httpGet: { path: '/lull/drain', port: 9930, scheme: 'HTTP', httpHeaders: [{ name: 'X-Lull-Drain-Token', value: token }] },
    });
    expect(sidecar.env).toContainEqual({ name: 'LULL_DRAIN_TOKEN', value: token });
    expect(sidecar.env).toContainEqual({ name: 'LULL_NODE_IPS', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIPs' } } });
  });

  it('changes nothing on re-admission', () => {
    expect(mutate(request(injected, injected), context)).toEqual({ uid: 'u', allowed: true });
  });

  it('gives another Deployment another token', () => {
    const other = admit(withDefaults({ ...web, metadata: { ...web.metadata, name: 'web-2' } }));
    const hook = other.spec!.template.spec!.containers[0]!.lifecycle!.preStop!.httpGet!;
    expect(hook.httpHeaders).toEqual([{ name: 'X-Lull-Drain-Token', value: drainToken(key, 'shop', 'web-2') }]);
  });

  it('removes the hook and the sidecar on opt-out', () => {
    const optedOut = { ...injected, metadata: { ...injected.metadata, annotations: { ...injected.metadata!.annotations, 'lull.dev/enabled': 'false' } } };
    const out = admit(optedOut, injected);
    expect(out.spec!.template.spec!.containers[0]!.lifecycle).toBeUndefined();
    expect(out.spec!.template.spec!.initContainers).toBeUndefined();
  });
});
