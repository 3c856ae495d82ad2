import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { buildEnv, envReferences, expand, serviceEnv } from '../../cluster/kubelet/env.ts';

const pod: V1Pod = {
  metadata: { name: 'web-1', namespace: 'team-a', uid: 'u-1', labels: { app: 'web' } },
  spec: { nodeName: 'lull-node', serviceAccountName: 'web', containers: [] },
};
const sources = {
  podIP: '10.213.0.9',
  hostIP: '10.213.0.1',
  serviceEnv: { KUBERNETES_SERVICE_HOST: '10.214.0.1' },
  configMaps: new Map([['settings', { MODE: 'fast', LEVEL: '3' }]]),
  secrets: new Map([['creds', { password: 's3cret' }]]),
};

describe('container environment', () => {
  it('resolves fieldRef, configMap and secret references and envFrom with a prefix', () => {
    const result = buildEnv(pod, {
      name: 'app',
      envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'URL', value: 'http://$(POD_IP):8080/$(MISSING)/$$(POD_IP)' },
      ],
    }, sources);
    expect(result).toEqual({ env: {
      KUBERNETES_SERVICE_HOST: '10.214.0.1', CFG_MODE: 'fast', CFG_LEVEL: '3', POD_NAME: 'web-1', POD_IP: '10.213.0.9', APP: 'web', PASSWORD: 's3cret',
      URL: 'http://10.213.0.9:8080/$(MISSING)/$(POD_IP)',
    } });
  });

  it('names the missing reference, unless it is optional', () => {
    expect(buildEnv(pod, { name: 'app', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'NOPE' } } }] }, sources))
      .toEqual({ error: 'env X: configmap "settings" has no key "NOPE"' });
    expect(buildEnv(pod, { name: 'app', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } }] }, sources))
      .toEqual({ env: { KUBERNETES_SERVICE_HOST: '10.214.0.1' } });
  });

  it('lists what must be fetched first', () => {
    const refs = envReferences({ name: 'app', envFrom: [{ secretRef: { name: 'a' } }], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } }] });
    expect([...refs.configMaps]).toEqual(['b']);
    expect([...refs.secrets]).toEqual(['a']);
  });

  it('expands only known variables', () => {
    expect(expand('$(A)-$(B)', { A: '1' })).toBe('1-$(B)');
  });

  it('builds docker-link service variables', () => {
    expect(serviceEnv([{ name: 'web-api', clusterIP: '10.214.0.20', ports: [{ name: 'http', port: 80 }] }, { name: 'headless', clusterIP: 'None', ports: [{ port: 1 }] }]))
      .toEqual({ WEB_API_SERVICE_HOST: '10.214.0.20', WEB_API_SERVICE_PORT: '80', WEB_API_SERVICE_PORT_HTTP: '80' });
  });
});
