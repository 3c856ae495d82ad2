import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../reconciler/config.ts';

describe('parseConfig', () => {
  it('has defaults that follow client-go and the contracts', () => {
    const c = parseConfig([], { POD_NAME: 'lull-reconciler-abc', POD_NAMESPACE: 'lull' });
    expect(c).toMatchObject({
      namespace: 'lull',
      lease: { namespace: 'lull', name: 'lull-reconciler', identity: 'lull-reconciler-abc', durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 },
      port: 9950,
      interceptorNamespace: 'lull-system',
      interceptorSelector: 'app.kubernetes.io/name=lull-interceptor',
      queryTimeoutMs: 1000,
      workers: 8,
    });
    expect(c.namespaceSelector).toBeUndefined();
  });

  it('takes flags', () => {
    const c = parseConfig(['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms', '--namespace-selector', 'team=a', '--kubeconfig', '/k', '--identity', 'x'], {});
    expect(c).toMatchObject({ lease: { durationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500, identity: 'x' }, namespaceSelector: 'team=a', kubeconfig: '/k' });
  });

  it('refuses timings a leader election cannot keep, naming the flag', () => {
    expect(() => parseConfig(['--renew-deadline', '20s'], {})).toThrow('setting --renew-deadline has value "20s": shorter than --lease-duration');
    expect(() => parseConfig(['--retry-period', '10s'], {})).toThrow('--retry-period');
    expect(() => parseConfig(['--namespace-selector', 'a in (b)'], {})).toThrow('an equality-based label selector');
    expect(() => parseConfig(['--workers', '0'], {})).toThrow('a whole number from 1 to 256');
    expect(() => parseConfig(['--bogus'], {})).toThrow();
  });
});

describe('parseConfig: --wake-lead', () => {
  it('defaults to 3m and takes a duration', () => {
    expect(parseConfig([], {}).wakeLeadMs).toBe(180_000);
    expect(parseConfig(['--wake-lead', '10m'], {}).wakeLeadMs).toBe(600_000);
    expect(() => parseConfig(['--wake-lead', 'soon'], {})).toThrow('setting --wake-lead has value "soon"');
  });
});
