import { describe, expect, it } from 'vitest';
import { parseAnnotations } from '../../../core/annotations.ts';
import { clusterDefaultsFromEnv } from '../../../core/cluster-defaults.ts';

describe('cluster-wide defaults', () => {
  it('apply where a Deployment has no annotation, and an annotation wins', () => {
    const { settings, problems } = clusterDefaultsFromEnv({ LULL_DEFAULT_IDLE_AFTER: '5m', LULL_DEFAULT_WAKE_REPLICAS: '2' });
    expect(problems).toEqual([]);
    expect(parseAnnotations({}, settings).settings).toMatchObject({ idleAfterMs: 300_000, wakeReplicas: 2, holdTimeoutMs: 120_000 });
    expect(parseAnnotations({ 'lull.dev/idle-after': '90s' }, settings).settings.idleAfterMs).toBe(90_000);
  });

  it('name a bad value and fall back to the built-in default', () => {
    const { settings, problems } = clusterDefaultsFromEnv({ LULL_DEFAULT_HOLD_TIMEOUT: 'soon' });
    expect(problems).toEqual([{ key: 'lull.dev/hold-timeout', value: 'soon', allowed: expect.stringContaining('duration') }]);
    expect(settings.holdTimeoutMs).toBe(120_000);
  });
});
