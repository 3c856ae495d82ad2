// A handler that throws: Lull-owned fields fail closed with a stable code, the rest open, always logged
// and counted. A real bug cannot be provoked on demand, so the context's caches throw here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { AdmissionContext } from '../../../webhook/admission-context.ts';
import { createMetrics, type WebhookMetrics } from '../../../webhook/metrics.ts';
import { buildServer, type WebhookServer } from '../../../webhook/server.ts';
import { web } from './fixtures.ts';

const boom = () => {
  throw new Error('a bug');
};
// Every lookup the handlers make fails: the informers' caches, and the trusted-user list.
const context = {
  ownNamespace: 'lull-system',
  trustedUsers: { includes: boom } as unknown as string[],
  inject: { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' },
  namespaceLabels: boom,
  backends: boom,
} satisfies AdmissionContext;

const user = { username: 'kubernetes-admin', groups: ['system:masters'] };
const reconciler = { username: 'system:serviceaccount:lull-system:lull-reconciler', groups: [] };

function review(object: object, oldObject: object | null, userInfo: object) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' }, name: 'web', namespace: 'shop', operation: oldObject ? 'UPDATE' : 'CREATE', userInfo, object, oldObject },
  };
}
const annotated = (annotations: Record<string, string>) => ({ ...web, metadata: { ...web.metadata, annotations } });

let server: WebhookServer;
let metrics: WebhookMetrics;
const lines: string[] = [];

beforeAll(async () => {
  metrics = createMetrics({ processMetrics: false });
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  server = buildServer({ context, metrics, logger, ready: () => true });
  await server.app.ready();
});
afterAll(() => server.app.close());

async function post(path: '/mutate' | '/validate', body: unknown) {
  const res = await server.app.inject({ method: 'POST', url: path, payload: body as object });
  expect(res.statusCode).toBe(200);
  return res.json().response;
}

describe('a handler that throws', () => {
  it('refuses a user’s change of lull.dev/ annotations it could not check, with a stable code', async () => {
    const response = await post('/validate', review(annotated({ 'lull.dev/state': 'sleeping' }), web, user));
    expect(response).toMatchObject({ uid: 'u1', allowed: false, status: { code: 500, reason: 'InternalError' } });
    expect(response.status.message).toBe('Lull could not check your change of lull.dev/state (an internal error, logged by its webhook); try again, or leave these annotations as they are');
    const mutate = await post('/mutate', review(annotated({ 'lull.dev/idle-after': '5m' }), web, user));
    expect(mutate.allowed).toBe(false);
  });

  it('allows unchanged what carries no such change, and Lull’s own writes', async () => {
    expect(await post('/mutate', review(annotated({ 'lull.dev/enabled': 'true' }), annotated({ 'lull.dev/enabled': 'true' }), user))).toEqual({ uid: 'u1', allowed: true });
    expect(await post('/mutate', review(annotated({ 'lull.dev/state': 'sleeping' }), web, reconciler))).toEqual({ uid: 'u1', allowed: true });
  });

  it('logs every failure at error and counts it by webhook and answer', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toContain('lull_webhook_internal_errors_total{webhook="validate",answer="denied"} 1');
    expect(text).toContain('lull_webhook_internal_errors_total{webhook="mutate",answer="denied"} 1');
    expect(text).toContain('lull_webhook_internal_errors_total{webhook="mutate",answer="allowed"} 2');
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg?.startsWith('admission failed'));
    expect(logged).toHaveLength(4);
    expect(text).toContain('lull_webhook_admissions_total{webhook="mutate",kind="Deployment",operation="UPDATE",outcome="error"} 3');
    expect(logged[0]).toMatchObject({ level: 50, webhook: 'validate', answer: 'denied', err: { message: 'a bug' } });
  });
});
