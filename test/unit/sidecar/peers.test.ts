import { describe, expect, it } from 'vitest';
import { parseNodeAddresses, peerClassifier } from '../../../sidecar/peers.ts';

describe('peerClassifier', () => {
  const peer = peerClassifier({ nodeAddresses: ['10.213.0.1', 'FD00::1'], loopbackIsLocal: true });

  it('knows the node by its addresses, IPv4-mapped and IPv6 spellings included', () => {
    expect(peer('10.213.0.1')).toBe('node');
    expect(peer('::ffff:10.213.0.1')).toBe('node');
    expect(peer('fd00::1')).toBe('node');
  });

  it('takes loopback for the pod itself, and anything else for another client', () => {
    expect(peer('127.0.0.1')).toBe('pod');
    expect(peer('::ffff:127.0.0.1')).toBe('pod');
    expect(peer('::1')).toBe('pod');
    expect(peer('10.213.0.7')).toBe('other');
    expect(peer(undefined)).toBe('other');
    expect(peerClassifier({ nodeAddresses: [], loopbackIsLocal: false })('127.0.0.1')).toBe('other');
  });

  it('reads status.hostIPs as the downward API writes it', () => {
    expect(parseNodeAddresses('10.0.0.4,fd00::4')).toEqual(['10.0.0.4', 'fd00::4']);
    expect(parseNodeAddresses('')).toEqual([]);
    expect(parseNodeAddresses('10.0.0.4,node-a')).toBeUndefined();
  });
});
