// Admission warnings: what kubectl prints as `Warning: ...` for settings that are admitted but cannot work.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../webhook/admission-review.ts';
import { backendOf } from '../../../webhook/backends.ts';
import { mutate } from '../../../webhook/mutate.ts';
import { deploymentWarnings, serviceFacts, serviceWarnings } from '../../../webhook/warnings.ts';
import { service, stored, web, withDefaults, worker } from './fixtures.ts';

const own = service('web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }]);
const withAnnotations = (d: V1Deployment, annotations: Record<string, string>): V1Deployment => ({ ...d, metadata: { ...d.metadata, annotations } });

describe('deploymentWarnings', () => {
  it('warns about a misspelt annotation, with the key it meant', () => {
    const typo = withAnnotations(web, { 'lull.dev/enabled': 'true', 'lull.dev/idle-afer': '5m' });
    expect(deploymentWarnings(typo, 'inject', [serviceFacts(own)], [])).toEqual(['lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?']);
  });

  it('warns about a misspelt lull.dev/enabled on a Deployment Lull therefore leaves alone', () => {
    const typo = withAnnotations(web, { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' });
    expect(deploymentWarnings(typo, 'strip', [serviceFacts(own)], [])).toEqual([
      'lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?',
      'lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?',
    ]);
  });

  it('names the app when no Service selects it, or its Service cannot carry a wake', () => {
    expect(deploymentWarnings(web, 'inject', [], [])).toEqual(['web will not sleep: no Service selects it, so no request could wake it']);
    const headless = serviceFacts({ ...own, spec: { ...own.spec, clusterIP: 'None' } });
    expect(deploymentWarnings(web, 'inject', [headless], [])).toEqual(['web will not sleep: Service web is headless: its clients would bypass the interceptor that wakes it']);
    const shared = serviceFacts(service('shop', { tier: 'web' }, [{ port: 80 }]));
    const api = { ...backendOf(web), name: 'api' };
    expect(deploymentWarnings(web, 'inject', [shared], [api])).toEqual(['web will not sleep: Service shop also selects other Deployments (api), which still need its traffic']);
  });

  it('warns when idle-after is shorter than the readiness probe may take', () => {
    const slow = withAnnotations(web, { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '3s' });
    expect(deploymentWarnings(slow, 'inject', [serviceFacts(own)], [])).toEqual(['web will not stay awake: idle-after 3s is shorter than the 5s its readiness probe may take to pass']);
  });

  it('judges no Services while they are not known, and none for an app Lull does not manage', () => {
    expect(deploymentWarnings(web, 'inject', undefined, undefined)).toEqual([]);
    expect(deploymentWarnings(withAnnotations(web, {}), 'strip', [], [])).toEqual([]);
  });

  it('keeps each warning short enough for one terminal line (Kubernetes recommends under 120 characters)', () => {
    const warnings = [
      ...deploymentWarnings(withAnnotations(web, { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', 'lull.dev/wake-replica': '2' }), 'inject', [], []),
      ...deploymentWarnings(web, 'inject', [serviceFacts({ ...own, spec: { ...own.spec, clusterIP: 'None' } })], []),
    ];
    expect(warnings.length).toBe(4);
    for (const w of warnings) expect(w.length).toBeLessThan(120);
  });
});

describe('serviceWarnings', () => {
  const app = backendOf(stored(web));
  it('warns about each Lull app a headless or shared Service keeps from sleeping', () => {
    expect(serviceWarnings({ ...own, spec: { ...own.spec, clusterIP: 'None' } }, [app])).toEqual(['web will not sleep: Service web is headless: its clients would bypass the interceptor that wakes it']);
    const other = { ...backendOf(web), name: 'legacy', injected: false };
    expect(serviceWarnings(service('front', { tier: 'web' }, [{ port: 80 }]), [app, other])).toEqual(['web will not sleep: Service front also selects other Deployments (legacy), which still need its traffic']);
  });
  it('is quiet for a Service of its own, or one that selects no Lull app', () => {
    expect(serviceWarnings(own, [app])).toEqual([]);
    expect(serviceWarnings({ ...own, spec: { ...own.spec, clusterIP: 'None' } }, [backendOf(web)])).toEqual([]);
  });
});

describe('/mutate carries the warnings', () => {
  const context = {
    ownNamespace: 'lull-system',
    inject: { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' },
    namespaceLabels: () => ({}),
    backends: () => [],
    services: () => [],
  };
  it('says once why a Deployment with no TCP port is left alone, not also that no Service selects it', () => {
    const consumer = withDefaults(withAnnotations(worker, { 'lull.dev/enabled': 'true', 'lull.dev/idle-afer': '5m' }));
    const request: AdmissionRequest = { uid: 'u2', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: 'shop', name: 'consumer', operation: 'CREATE', object: consumer as Record<string, unknown> };
    expect(mutate(request, context).warnings).toEqual([
      'Lull leaves this Deployment as it is: no container has a TCP port, so no request could wake it',
      'lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?',
    ]);
  });

  it('answers an opted-in Deployment with its patch and the warning for its typo', () => {
    const typo = withDefaults(withAnnotations(web, { 'lull.dev/enabled': 'true', 'lull.dev/idle-afer': '5m' }));
    const request: AdmissionRequest = { uid: 'u1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: 'shop', name: 'web', operation: 'CREATE', object: typo as Record<string, unknown> };
    const response = mutate(request, {
      ownNamespace: 'lull-system',
      inject: { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' },
      namespaceLabels: () => ({}),
      backends: () => [],
      services: () => [serviceFacts(own)],
    });
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeDefined();
    expect(response.warnings).toEqual(['lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?']);
  });
});
