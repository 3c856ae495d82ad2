import { describe, expect, it } from 'vitest';
import { LULL_VERSION, parseConfig } from '../../../webhook/config.ts';

describe('parseConfig', () => {
  it('defaults to the in-cluster Service names, one-year certificates renewed a third before expiry', () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({ host: '0.0.0.0', port: 9443, namespace: 'lull-system', secretName: 'lull-webhook-tls', mutatingConfigName: 'lull-webhook', validatingConfigName: 'lull-webhook' });
    expect(config.tls.dnsNames).toEqual(['lull-webhook', 'lull-webhook.lull-system', 'lull-webhook.lull-system.svc', 'lull-webhook.lull-system.svc.cluster.local']);
    expect(config.tls.renewBeforeMs).toBe(config.tls.certValidityMs / 3);
    expect(config.sidecarImage).toBe(`ghcr.io/lull-dev/lull:${LULL_VERSION}`);
    expect(config.version).toBe(LULL_VERSION);
    expect(config.caSecretName).toBe('lull-webhook-ca');
    expect(config.tls.caOverlapMs).toBe(3_600_000);
  });

  it('keeps the CA in a Secret of its own, named after the serving Secret unless given', () => {
    expect(parseConfig(['--secret', 'e2e-tls'], {}).caSecretName).toBe('e2e-ca');
    expect(parseConfig(['--secret', 'e2e'], {}).caSecretName).toBe('e2e-ca');
    expect(parseConfig(['--secret', 'e2e', '--ca-secret', 'keys'], {}).caSecretName).toBe('keys');
  });

  it('runs outside the cluster by address', () => {
    const config = parseConfig(['--host', '10.213.0.1', '--port', '18443', '--service', '', '--ip-address', '10.213.0.1', '--mutating-config', 'e2e', '--trusted-user', 'kubernetes-admin'], { POD_NAMESPACE: 'lull-e2e' });
    expect(config.trustedUsers).toEqual(['kubernetes-admin']);
    expect(config.tls).toMatchObject({ dnsNames: [], ipAddresses: ['10.213.0.1'] });
    expect(config.namespace).toBe('lull-e2e');
    expect(config.mutatingConfigName).toBe('e2e');
  });

  it('takes the sidecar\'s resources and pull policy', () => {
    expect(parseConfig([], {})).toMatchObject({ sidecarPullPolicy: 'IfNotPresent' });
    expect(parseConfig([], {}).sidecarResources).toBeUndefined();
    const config = parseConfig(['--sidecar-resources', '{"requests":{"cpu":"5m","memory":32000000},"limits":{"memory":"64Mi"}}', '--sidecar-image-pull-policy', 'Always'], {});
    expect(config.sidecarResources).toEqual({ requests: { cpu: '5m', memory: '32000000' }, limits: { memory: '64Mi' } });
    expect(config.sidecarPullPolicy).toBe('Always');
    expect(parseConfig([], {}).sidecarPullSecrets).toEqual([]);
    expect(parseConfig(['--sidecar-image-pull-secret', 'a', '--sidecar-image-pull-secret', 'b'], {}).sidecarPullSecrets).toEqual(['a', 'b']);
    expect(() => parseConfig(['--sidecar-resources', '{"request":{}}'])).toThrow(/setting --sidecar-resources has value .*request.*: a JSON object with requests and\/or limits/);
    expect(() => parseConfig(['--sidecar-resources', 'cpu=1'])).toThrow('--sidecar-resources');
    expect(() => parseConfig(['--sidecar-image-pull-policy', 'Sometimes'])).toThrow('setting --sidecar-image-pull-policy has value "Sometimes": IfNotPresent, Always, Never');
  });

  it('refuses bad settings with the flag, the value and what is allowed', () => {
    expect(() => parseConfig(['--port', '99999'])).toThrow('setting --port has value "99999": a port from 1 to 65535');
    expect(() => parseConfig(['--cert-validity', '1h', '--renew-before', '2h'])).toThrow('setting --renew-before has value "2h": shorter than --cert-validity');
    expect(() => parseConfig(['--ip-address', 'example.com'])).toThrow('--ip-address');
    expect(() => parseConfig(['--nope'])).toThrow();
    expect(() => parseConfig(['--ca-overlap', '1m', '--resync', '5m'])).toThrow('setting --ca-overlap has value "1m": longer than --resync');
    expect(() => parseConfig(['--secret', 'x', '--ca-secret', 'x'])).toThrow('setting --ca-secret has value "x": a Secret other than --secret');
  });
});
