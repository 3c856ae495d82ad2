import { describe, expect, it } from 'vitest';
import { forwardRules } from '../../cluster/firewall.ts';
import { nftTableIsEmpty, nftTablesToDelete, parseNetnsList, parseNftTables } from '../../cluster/network.ts';

describe('parseNetnsList', () => {
  it('reads names with or without ids', () => {
    expect(parseNetnsList('lull-1a2b3c4d (id: 0)\nother\n\n')).toEqual(['lull-1a2b3c4d', 'other']);
  });
});

describe('nft tables', () => {
  it('lists tables as family and name', () => {
    const json = '{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"ip","name":"filter","handle":1}},{"table":{"family":"ip6","name":"nat","handle":2}}]}';
    expect(parseNftTables(json)).toEqual(['ip filter', 'ip6 nat']);
  });

  it('calls a table with chains but no rules empty', () => {
    const chainsOnly = '{"nftables":[{"metainfo":{}},{"table":{"family":"ip","name":"nat"}},{"chain":{"family":"ip","table":"nat","name":"PREROUTING","type":"nat","hook":"prerouting","prio":-100,"policy":"accept"}}]}';
    const withRule = '{"nftables":[{"table":{"family":"ip","name":"filter"}},{"rule":{"family":"ip","table":"filter","chain":"INPUT","expr":[]}}]}';
    expect(nftTableIsEmpty(chainsOnly)).toBe(true);
    expect(nftTableIsEmpty(withRule)).toBe(false);
  });

  it('deletes only empty iptables-nft tables that appeared since setup', () => {
    const empty = new Set(['ip filter', 'ip nat', 'inet firewalld', 'ip6 mangle']);
    expect(nftTablesToDelete(['ip nat'], ['ip filter', 'ip nat', 'inet firewalld', 'ip6 mangle', 'ip6 filter'], (t) => empty.has(t))).toEqual(['ip filter', 'ip6 mangle']);
  });
});

describe('forwardRules', () => {
  it('lets pods talk across the bridge and keeps their traffic on the machine', () => {
    const rules = forwardRules({ bridge: 'lull0' });
    expect(rules.map((r) => r.at(-1))).toEqual(['ACCEPT', 'DROP', 'DROP']);
    expect(rules[0]!.slice(0, 4)).toEqual(['-i', 'lull0', '-o', 'lull0']);
    expect(rules[1]!.slice(0, 2)).toEqual(['-i', 'lull0']);
    expect(rules[2]!.slice(0, 2)).toEqual(['-o', 'lull0']);
  });
});
