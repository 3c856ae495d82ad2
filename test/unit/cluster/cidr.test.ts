import { describe, expect, it } from 'vitest';
import { cidrOverlaps, conflictingRoutes, describeRoute, ipv4ToInt, parseCidr, prefixLength, type RouteEntry } from '../../cluster/cidr.ts';

describe('CIDRs', () => {
  it('parses and masks', () => {
    expect(ipv4ToInt('10.0.0.1')).toBe(167772161);
    expect(parseCidr('10.213.0.7/24')).toEqual({ base: ipv4ToInt('10.213.0.0'), prefix: 24 });
    expect(parseCidr('192.0.2.2')).toEqual({ base: ipv4ToInt('192.0.2.2'), prefix: 32 });
    expect(prefixLength('10.213.0.0/24')).toBe(24);
  });

  it('refuses what is not IPv4', () => {
    expect(() => parseCidr('10.0.0/8')).toThrow();
    expect(() => parseCidr('10.0.0.256/8')).toThrow();
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
  });

  it('finds overlaps in both directions and at the edges', () => {
    expect(cidrOverlaps('10.0.0.0/8', '10.213.0.0/24')).toBe(true);
    expect(cidrOverlaps('10.213.0.0/24', '10.0.0.0/8')).toBe(true);
    expect(cidrOverlaps('10.213.0.255', '10.213.0.0/24')).toBe(true);
    expect(cidrOverlaps('10.213.1.0/24', '10.213.0.0/24')).toBe(false);
    expect(cidrOverlaps('0.0.0.0/0', '10.213.0.0/24')).toBe(true);
  });
});

describe('conflictingRoutes', () => {
  const ranges = ['10.213.0.0/24', '10.214.0.0/24'];
  // As `ip -j -4 route show table all` prints them on a host with the cluster up.
  const routes: RouteEntry[] = [
    { type: 'unicast', dst: 'default', dev: 'eth0' },
    { type: 'unicast', dst: '10.213.0.0/24', dev: 'lull0' },
    { type: 'unicast', dst: '10.214.0.0/24', dev: 'lull0' },
    { type: 'unicast', dst: '192.0.2.0/24', dev: 'eth0' },
    { type: 'local', dst: '10.213.0.1', dev: 'lull0', table: 'local' },
    { type: 'broadcast', dst: '10.213.0.255', dev: 'lull0', table: 'local' },
    { type: 'local', dst: '127.0.0.0/8', dev: 'lo', table: 'local' },
  ];

  it('ignores our own routes and default routes', () => {
    expect(conflictingRoutes(routes, ranges, 'lull0')).toEqual([]);
  });

  it('reports a route elsewhere that covers part of a range', () => {
    const vpn: RouteEntry = { type: 'unicast', dst: '10.0.0.0/8', dev: 'tun0' };
    const docker: RouteEntry = { type: 'unicast', dst: '10.214.0.128/25', dev: 'br-1', table: '100' };
    expect(conflictingRoutes([...routes, vpn, docker], ranges, 'lull0')).toEqual([vpn, docker]);
    expect(describeRoute(docker)).toBe('10.214.0.128/25 dev br-1 table 100');
  });

  it('reports a local address of another interface inside a range', () => {
    const local: RouteEntry = { type: 'local', dst: '10.213.0.9', dev: 'eth1', table: 'local' };
    expect(conflictingRoutes([local], ranges, 'lull0')).toEqual([local]);
  });
});
