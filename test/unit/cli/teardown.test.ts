// `lull teardown`'s plan of what the parts made at run time: the webhook's Secrets, the reconciler's
// Lease and every route record in Lull's namespace, but nothing else that happens to be listed.
import { describe, expect, it } from 'vitest';
import { buildRouteRecord, ROUTE_LABELS } from '../../../core/interceptor-contract.ts';
import { runtimeObjects, type Named } from '../../../cli/teardown.ts';

const record = (port: number, namespace = 'lull-system'): Named => buildRouteRecord({ port, namespace: 'team', service: 'web', deployment: 'web', servicePort: 'http', portName: 'http' }, namespace);
const configMap = (name: string, labels?: Record<string, string>): Named => ({ metadata: { name, namespace: 'lull-system', ...(labels ? { labels } : {}) } });

describe('lull teardown: what the parts made at run time', () => {
  it('deletes the Secrets, the Lease and every route record in Lull\'s namespace', () => {
    expect(runtimeObjects('lull-system', [record(20000), record(20001)])).toEqual([
      '/api/v1/namespaces/lull-system/secrets/lull-webhook-tls',
      '/api/v1/namespaces/lull-system/secrets/lull-webhook-ca',
      '/api/v1/namespaces/lull-system/secrets/lull-drain-key',
      '/apis/coordination.k8s.io/v1/namespaces/lull-system/leases/lull-reconciler',
      '/api/v1/namespaces/lull-system/configmaps/lull-port-20000',
      '/api/v1/namespaces/lull-system/configmaps/lull-port-20001',
    ]);
  });

  it('follows the namespace Lull runs in', () => {
    expect(runtimeObjects('platform', [record(29999, 'platform')])).toEqual([
      '/api/v1/namespaces/platform/secrets/lull-webhook-tls',
      '/api/v1/namespaces/platform/secrets/lull-webhook-ca',
      '/api/v1/namespaces/platform/secrets/lull-drain-key',
      '/apis/coordination.k8s.io/v1/namespaces/platform/leases/lull-reconciler',
      '/api/v1/namespaces/platform/configmaps/lull-port-29999',
    ]);
  });

  it('leaves any other ConfigMap alone: the chart\'s defaults, a look-alike name or one without all the record labels', () => {
    const others = [
      configMap('lull-defaults', { ...ROUTE_LABELS }),
      configMap('lull-port-http', { ...ROUTE_LABELS }),
      configMap('lull-port-80', { ...ROUTE_LABELS }),
      configMap('lull-port-20002', { 'app.kubernetes.io/part-of': 'lull' }),
      configMap('lull-port-20003'),
      record(20004, 'elsewhere'),
    ];
    expect(runtimeObjects('lull-system', others).filter((p) => p.includes('/configmaps/'))).toEqual([]);
  });
});
