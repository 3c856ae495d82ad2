import { describe, expect, it } from 'vitest';
import { isCI, skipReason } from '../../cluster/global-setup.ts';

const noRoot = [{ what: 'root', why: 'it creates a bridge, network namespaces and iptables rules; run it with sudo' }];

describe('the e2e skip decision', () => {
  it('runs the suites when nothing is missing', () => {
    expect(skipReason([], { CI: 'true' }, () => expect.unreachable())).toBeNull();
  });

  it('outside CI, skips with a loud word naming what is missing', () => {
    const warned: string[] = [];
    expect(skipReason(noRoot, {}, (problems) => warned.push(...problems.map((p) => p.what)))).toBe('needs root');
    expect(warned).toEqual(['root']);
  });

  it('in CI, fails instead of skipping', () => {
    expect(() => skipReason(noRoot, { CI: 'true' }, () => {})).toThrow(/root/);
    expect(() => skipReason(noRoot, { CI: '1' }, () => {})).toThrow(/root/);
  });

  it('reads CI as set unless empty, 0 or false', () => {
    expect([undefined, '', '0', 'false', 'FALSE'].map((CI) => isCI({ CI }))).toEqual([false, false, false, false, false]);
    expect(['true', '1', 'yes'].map((CI) => isCI({ CI }))).toEqual([true, true, true]);
  });
});
