import type { V1Deployment } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.ts';
import type { AdmissionContext } from '../../../webhook/admission-context.ts';
import type { AdmissionResponse } from '../../../webhook/admission-review.ts';
import { backendOf, type Backend } from '../../../webhook/backends.ts';
import { createMetrics } from '../../../webhook/metrics.ts';
import { buildServer, type WebhookServer } from '../../../webhook/server.ts';
import { service, stored, web, withDefaults, worker } from './fixtures.ts';

const namespaces: Record<string, Record<string, string>> = {
  shop: { 'kubernetes.io/metadata.name': 'shop' },
  'team-a': { 'kubernetes.io/metadata.name': 'team-a', 'lull.dev/inject': 'enabled' },
};
let backends: Backend[] | undefined = [];
let ready = false;

const context: AdmissionContext = {
  ownNamespace: 'lull-system',
  inject: { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' },
  namespaceLabels: (name) => namespaces[name],
  backends: (ns) => backends?.filter((b) => b.namespace === ns),
};

const kubectl = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const reconciler = { username: 'system:serviceaccount:lull-system:lull-reconciler', groups: ['system:serviceaccounts', 'system:serviceaccounts:lull-system', 'system:authenticated'] };

/** An AdmissionReview as kube-apiserver sends it. */
function review(options: {
  kind?: { group: string; version: string; kind: string };
  resource?: string;
  operation?: string;
  object: object | null;
  oldObject?: object | null;
  user?: object;
  namespace?: string;
  subResource?: string;
}) {
  const kind = options.kind ?? { group: 'apps', version: 'v1', kind: 'Deployment' };
  const resource = { group: kind.group, version: kind.version, resource: options.resource ?? 'deployments' };
  const object = options.object as { metadata?: { name?: string; namespace?: string } } | null;
  const operation = options.operation ?? (options.oldObject ? 'UPDATE' : 'CREATE');
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: '2d4a6b30-7c1e-4f4c-9d87-0f2f1b6f6a11',
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      ...(options.subResource ? { subResource: options.subResource } : {}),
      name: object?.metadata?.name ?? 'web',
      namespace: options.namespace ?? object?.metadata?.namespace ?? 'shop',
      operation,
      userInfo: options.user ?? kubectl,
      object: options.object,
      oldObject: options.oldObject ?? null,
      dryRun: false,
      options: { kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply' },
    },
  };
}

let server: WebhookServer;

beforeAll(async () => {
  server = buildServer({ context, metrics: createMetrics({ processMetrics: false }), logger: createLogger('webhook', 'silent'), ready: () => ready });
  await server.app.ready();
});
afterAll(() => server.app.close());

async function post(path: '/mutate' | '/validate', body: unknown): Promise<AdmissionResponse> {
  const res = await server.app.inject({ method: 'POST', url: path, payload: body as object });
  expect(res.statusCode).toBe(200);
  const answer = res.json();
  expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '2d4a6b30-7c1e-4f4c-9d87-0f2f1b6f6a11' } });
  return answer.response;
}

const patchOf = (response: AdmissionResponse): Operation[] => {
  expect(response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(response.patch!, 'base64').toString());
};
const apply = <T>(object: T, response: AdmissionResponse): T => jsonpatch.applyPatch(structuredClone(object), patchOf(response), true, false).newDocument;
const annotated = (d: V1Deployment, annotations: Record<string, string>): V1Deployment => ({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata?.annotations, ...annotations } } });
const plain = withDefaults({ ...web, metadata: { ...web.metadata, annotations: {} } });

describe('/mutate', () => {
  it('injects when a user annotates an existing Deployment (kubectl annotate)', async () => {
    const response = await post('/mutate', review({ object: annotated(plain, { 'lull.dev/enabled': 'true' }), oldObject: plain }));
    expect(response.allowed).toBe(true);
    const out = apply(annotated(plain, { 'lull.dev/enabled': 'true' }), response);
    expect(out.spec!.template.spec!.initContainers![0]!.name).toBe('lull-sidecar');
    expect(out.metadata!.annotations!['lull.dev/injected']).toBe('0.1.0');
  });

  it('injects in a namespace labelled lull.dev/inject=enabled, and opts out on lull.dev/enabled=false there', async () => {
    const inTeam = { ...plain, metadata: { ...plain.metadata, namespace: 'team-a' } };
    const created = await post('/mutate', review({ object: inTeam }));
    expect(patchOf(created).length).toBeGreaterThan(0);
    const injected = withDefaults(apply(inTeam, created));
    const optOut = annotated(injected, { 'lull.dev/enabled': 'false' });
    expect(withDefaults(apply(optOut, await post('/mutate', review({ object: optOut, oldObject: injected }))))).toEqual(annotated(inTeam, { 'lull.dev/enabled': 'false' }));
  });

  it('changes nothing on re-admission of an injected Deployment', async () => {
    const injected = stored(web);
    expect(await post('/mutate', review({ object: injected, oldObject: injected }))).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('changes nothing while the namespace is not known, unless the Deployment says so itself', async () => {
    const elsewhere = { ...plain, metadata: { ...plain.metadata, namespace: 'new-ns' } };
    expect((await post('/mutate', review({ object: elsewhere }))).patch).toBeUndefined();
    expect((await post('/mutate', review({ object: annotated(elsewhere, { 'lull.dev/enabled': 'true' }) }))).patch).toBeDefined();
  });

  it('warns, and changes nothing, when an opted-in Deployment has no TCP port to front', async () => {
    const consumer = annotated(withDefaults(worker), { 'lull.dev/enabled': 'true' });
    const response = await post('/mutate', review({ object: consumer }));
    expect(response.patch).toBeUndefined();
    expect(response.warnings).toEqual(['Lull leaves this Deployment as it is: no container has a TCP port, so no request could wake it']);
  });

  it('never touches kube-system or its own namespace', async () => {
    for (const namespace of ['kube-system', 'lull-system']) {
      const there = annotated({ ...plain, metadata: { ...plain.metadata, namespace } }, { 'lull.dev/enabled': 'true' });
      expect(await post('/mutate', review({ object: there }))).toEqual({ uid: expect.any(String), allowed: true });
    }
  });

  it('refuses a user setting an annotation Lull writes, and lets Lull write it', async () => {
    const injected = stored(web);
    const edited = annotated(injected, { 'lull.dev/injected': '9.9.9' });
    const refused = await post('/mutate', review({ object: edited, oldObject: injected }));
    expect(refused.allowed).toBe(false);
    expect(refused.status).toEqual({ code: 403, reason: 'Forbidden', message: 'annotation lull.dev/injected is written by Lull only; remove it from your change' });
    const touched = annotated(injected, { 'lull.dev/touched-at': '2025-01-01T00:00:00Z' });
    expect((await post('/mutate', review({ object: touched, oldObject: injected, user: reconciler }))).allowed).toBe(true);
  });

  it('routes a Service to the sidecar on create, and allows it unchanged while Deployments are not known', async () => {
    const svc = service('web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    backends = [backendOf(stored(web))];
    const out = apply(svc, await post('/mutate', review({ kind: { group: '', version: 'v1', kind: 'Service' }, resource: 'services', object: svc })));
    expect(out.spec!.ports![0]!.targetPort).toBe('lull-8080');
    backends = undefined;
    expect((await post('/mutate', review({ kind: { group: '', version: 'v1', kind: 'Service' }, resource: 'services', object: svc }))).patch).toBeUndefined();
    backends = [];
  });

  it('allows unknown kinds, deletes and subresources untouched', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'shop', annotations: { 'lull.dev/state': 'awake' } } };
    expect(await post('/mutate', review({ kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: 'configmaps', object: cm }))).toEqual({ uid: expect.any(String), allowed: true });
    expect(await post('/mutate', review({ operation: 'DELETE', object: null, oldObject: plain }))).toEqual({ uid: expect.any(String), allowed: true });
    const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 0 } };
    expect(await post('/mutate', review({ subResource: 'scale', object: scale, oldObject: scale }))).toEqual({ uid: expect.any(String), allowed: true });
  });
});

describe('/validate', () => {
  it('refuses a bad annotation value with the key, the value and what is allowed', async () => {
    const bad = annotated(plain, { 'lull.dev/idle-after': '5 minutes' });
    const response = await post('/validate', review({ object: bad, oldObject: plain }));
    expect(response).toMatchObject({
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: 'annotation lull.dev/idle-after has value "5 minutes": a duration such as 90s, 15m or 1h30m, from 1s to 30 days' },
    });
  });

  it('names every bad value at once', async () => {
    const bad = annotated(plain, { 'lull.dev/wake-replicas': '0', 'lull.dev/max-held': '-3', 'lull.dev/enabled': 'yes' });
    const message = (await post('/validate', review({ object: bad }))).status!.message;
    expect(message.split('; ')).toEqual([
      'annotation lull.dev/enabled has value "yes": "true" or "false"',
      'annotation lull.dev/wake-replicas has value "0": a whole number from 1 to 1000',
      "annotation lull.dev/max-held has value \"-3\": a whole number from 1 to 50000 (the interceptor's cap on held connections)",
    ]);
  });

  it('accepts good values, and a bad value that was already there (another field changed)', async () => {
    const good = annotated(plain, { 'lull.dev/idle-after': '1h30m', 'lull.dev/hold-timeout': '45s', 'lull.dev/max-held': '200', 'lull.dev/wake-replicas': '3' });
    expect((await post('/validate', review({ object: good, oldObject: plain }))).allowed).toBe(true);
    const old = annotated(plain, { 'lull.dev/idle-after': 'soon' });
    const scaled = { ...old, spec: { ...old.spec!, replicas: 5 } };
    expect((await post('/validate', review({ object: scaled, oldObject: old }))).allowed).toBe(true);
  });

  it('refuses a user edit of a Lull-owned annotation, allows removing one and allows Lull', async () => {
    const sleeping = annotated(stored(web), { 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' });
    const edited = annotated(sleeping, { 'lull.dev/state': 'awake' });
    expect(await post('/validate', review({ object: edited, oldObject: sleeping }))).toMatchObject({
      allowed: false,
      status: { code: 403, message: 'annotation lull.dev/state is written by Lull only; remove it from your change' },
    });
    expect((await post('/validate', review({ object: edited, oldObject: sleeping, user: reconciler }))).allowed).toBe(true);
    const removed = structuredClone(sleeping);
    delete removed.metadata!.annotations!['lull.dev/state'];
    expect((await post('/validate', review({ object: removed, oldObject: sleeping }))).allowed).toBe(true);
  });

  it('does not take what the mutating webhook just wrote for a user edit', async () => {
    expect((await post('/validate', review({ object: stored(web), oldObject: withDefaults(web) }))).allowed).toBe(true);
  });

  it('refuses a user edit of lull.dev/interceptor-ports on a Service', async () => {
    const svc = service('web', { app: 'web' }, [{ port: 80, targetPort: 8080, protocol: 'TCP' }]);
    const edited = { ...svc, metadata: { ...svc.metadata, annotations: { 'lull.dev/interceptor-ports': '{"80":20000}' } } };
    expect((await post('/validate', review({ kind: { group: '', version: 'v1', kind: 'Service' }, resource: 'services', object: edited, oldObject: svc }))).allowed).toBe(false);
  });
});

describe('server', () => {
  it('answers 400 to what is not an AdmissionReview', async () => {
    const res = await server.app.inject({ method: 'POST', url: '/mutate', payload: { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'LULL_MALFORMED_ADMISSION_REVIEW' });
  });

  it('is healthy at once and ready only when told', async () => {
    expect((await server.app.inject('/healthz')).statusCode).toBe(200);
    ready = false;
    expect((await server.app.inject('/readyz')).statusCode).toBe(503);
    ready = true;
    expect((await server.app.inject('/readyz')).statusCode).toBe(200);
  });

  it('counts admissions by outcome in /metrics', async () => {
    const text = (await server.app.inject('/metrics')).body;
    expect(text).toMatch(/lull_webhook_admissions_total\{webhook="mutate",kind="Deployment",operation="UPDATE",outcome="patched"\} \d+/);
    expect(text).toMatch(/lull_webhook_admissions_total\{webhook="validate",kind="Deployment",operation="UPDATE",outcome="denied"\} \d+/);
    expect(text).toContain('lull_webhook_admission_duration_seconds_bucket');
  });
});
