import { describe, expect, it } from 'vitest';
import { AddressPool, intToIp, ipToInt, parseCIDR } from '../../cluster/kubelet/ipam.ts';

describe('pod address pool', () => {
  it('converts addresses both ways', () => {
    expect(intToIp(ipToInt('10.213.0.254'))).toBe('10.213.0.254');
    expect(parseCIDR('10.213.0.77/24')).toEqual({ network: ipToInt('10.213.0.0'), prefix: 24 });
    expect(() => ipToInt('10.1.2')).toThrow(/not an IPv4 address/);
  });

  it('skips reserved addresses and does not hand a freed address straight back', () => {
    const pool = new AddressPool('10.213.0.0/29', ['10.213.0.1']);
    const a = pool.allocate();
    const b = pool.allocate();
    expect([a, b]).toEqual(['10.213.0.2', '10.213.0.3']);
    pool.release(a);
    expect(pool.allocate()).toBe('10.213.0.4');
  });

  it('says so when the range is exhausted', () => {
    const pool = new AddressPool('10.213.0.0/30', ['10.213.0.1']);
    expect(pool.allocate()).toBe('10.213.0.2');
    expect(() => pool.allocate()).toThrow(/no free address/);
  });
});
