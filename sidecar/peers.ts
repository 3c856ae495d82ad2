// Who is on the other end of a connection, by address: the kubelet reaches the pod from its node (its
// probes and preStop hooks), the pod's own containers from loopback. Headers say nothing here: any
// client can send `User-Agent: kube-probe/…`, none can choose its source address.
import { isIP } from 'node:net';

export interface PeerSettings {
  /** The node's addresses (downward API status.hostIPs); empty when not known. */
  nodeAddresses: readonly string[];
  /** Loopback is this pod itself (always in a pod; tests turn it off to play a remote client). */
  loopbackIsLocal: boolean;
}

export type Peer = 'node' | 'pod' | 'other';

/** Canonical form: IPv4-mapped IPv6 (a dual-stack listener's view of IPv4) as plain IPv4, IPv6 lower-cased. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address.toLowerCase();
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** Pure: a classifier of remote addresses. */
export function peerClassifier(settings: PeerSettings): (remoteAddress: string | undefined) => Peer {
  const node = new Set(settings.nodeAddresses.map(plainAddress));
  return (remoteAddress) => {
    if (remoteAddress === undefined) return 'other';
    const address = plainAddress(remoteAddress);
    if (settings.loopbackIsLocal && isLoopback(address)) return 'pod';
    return node.has(address) ? 'node' : 'other';
  };
}

/** `LULL_NODE_IPS`: comma-separated addresses; undefined when one is not an IP address. */
export function parseNodeAddresses(value: string): string[] | undefined {
  const addresses = value.split(',').map((a) => a.trim()).filter((a) => a !== '');
  return addresses.every((a) => isIP(a) !== 0) ? addresses.map(plainAddress) : undefined;
}
