import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiserverUrl, renderKubeconfig } from '../../cluster/kubeconfig.ts';

describe('renderKubeconfig', () => {
  it('embeds the CA and the client certificate, and selects its context', () => {
    const text = renderKubeconfig({ name: 'lull', server: 'https://10.213.0.1:6443', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' });
    const config = parse(text);
    expect(config['current-context']).toBe('lull');
    expect(config.clusters[0].cluster.server).toBe('https://10.213.0.1:6443');
    expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe('CA');
    expect(Buffer.from(config.users[0].user['client-certificate-data'], 'base64').toString()).toBe('CERT');
    expect(Buffer.from(config.users[0].user['client-key-data'], 'base64').toString()).toBe('KEY');
    expect(config.contexts[0]).toEqual({ name: 'lull', context: { cluster: 'lull', user: 'lull' } });
  });

  it('points at the gateway', () => {
    expect(apiserverUrl({ gateway: '10.213.0.1', apiserverPort: 6443 })).toBe('https://10.213.0.1:6443');
  });
});
