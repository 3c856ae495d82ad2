import { describe, expect, it } from 'vitest';
import { parseAnnotations } from '../../../core/annotations.ts';

describe('annotation limits that protect the other tenants', () => {
  it('refuses a max-held above the interceptor cap, naming the limit', () => {
    expect(parseAnnotations({ 'lull.dev/max-held': '50000' }).problems).toEqual([]);
    expect(parseAnnotations({ 'lull.dev/max-held': '100000' }).problems).toEqual([
      { key: 'lull.dev/max-held', value: '100000', allowed: "a whole number from 1 to 50000 (the interceptor's cap on held connections)" },
    ]);
  });

  it('refuses a hold-timeout above 10 minutes, naming the limit', () => {
    expect(parseAnnotations({ 'lull.dev/hold-timeout': '10m' }).settings.holdTimeoutMs).toBe(600_000);
    const { problems, settings } = parseAnnotations({ 'lull.dev/hold-timeout': '1h' });
    expect(problems).toEqual([{ key: 'lull.dev/hold-timeout', value: '1h', allowed: 'a duration such as 30s or 2m, from 1s to 10m (the longest Lull holds a connection)' }]);
    expect(settings.holdTimeoutMs).toBe(120_000);
  });
});
