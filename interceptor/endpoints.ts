// Where an app's pods are, from its Service's own EndpointSlices: not-ready endpoints included, so a
// new pod is known (and its sidecar asked) the moment it has an address. Only addresses that are pods
// of the woken Deployment are kept: a slice is anyone's to write, a pod's IP is the kubelet's. Pure.
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, SLICE_MANAGED_BY } from '../core/interceptor-contract.ts';

export interface Candidate {
  /** One pod incarnation: a reused address is a different key. */
  key: string;
  address: string;
  /** The pod port for the route's Service port (the sidecar's). */
  port: number;
  /** The pod's name and namespace, from the endpoint's targetRef (undefined unless it names a Pod). */
  pod: string | undefined;
  podNamespace: string | undefined;
  podUid: string | undefined;
  /** The slice says it is ready. */
  ready: boolean;
  terminating: boolean;
}

/** Slices Lull made point at the interceptor itself: following them would loop. */
export function isInterceptorSlice(slice: Pick<V1EndpointSlice, 'metadata'>): boolean {
  return slice.metadata?.labels?.[MANAGED_BY_LABEL] === SLICE_MANAGED_BY;
}

/** Every endpoint of the Service's own slices that serves `portName` and that `keep` accepts, one per address. */
export function candidates(slices: readonly V1EndpointSlice[], portName: string, keep: (c: Candidate) => boolean = () => true): Candidate[] {
  const byAddress = new Map<string, Candidate>();
  for (const slice of slices) {
    if (isInterceptorSlice(slice) || (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6')) continue;
    const port = slice.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP')?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses[0];
      if (address === undefined) continue;
      const conditions = endpoint.conditions ?? {};
      const ref = endpoint.targetRef;
      const candidate: Candidate = {
        key: `${ref?.uid ?? ref?.name ?? ''}@${address}`,
        address,
        port,
        pod: ref?.kind === 'Pod' ? ref.name : undefined,
        podNamespace: ref?.kind === 'Pod' ? (ref.namespace ?? slice.metadata?.namespace) : undefined,
        podUid: ref?.kind === 'Pod' ? ref.uid : undefined,
        // Unset means ready, per the EndpointSlice API.
        ready: conditions.ready !== false && conditions.terminating !== true,
        terminating: conditions.terminating === true,
      };
      // Filtered before the one-per-address rule, so an entry that is no pod cannot mask one that is.
      if (!keep(candidate)) continue;
      const seen = byAddress.get(address);
      // During an update an address can sit in two slices: the readier entry wins.
      if (seen === undefined || (!seen.ready && candidate.ready)) byAddress.set(address, candidate);
    }
  }
  return [...byAddress.values()];
}

/**
 * Pure: the pod behind a candidate, when it is one of `pods` (the app's pods: the Deployment's selector
 * in the app's namespace) and the address is that pod's own IP; undefined for anything else (another
 * namespace's pod, an external address, a node's address through hostNetwork, a stale incarnation).
 */
export function podOf(candidate: Candidate, pods: ReadonlyMap<string, V1Pod>, namespace: string): V1Pod | undefined {
  if (candidate.pod === undefined || candidate.podNamespace !== namespace) return undefined;
  const pod = pods.get(candidate.pod);
  if (pod === undefined || pod.metadata?.namespace !== namespace || pod.spec?.hostNetwork === true) return undefined;
  if (candidate.podUid !== undefined && candidate.podUid !== pod.metadata?.uid) return undefined;
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return ips.includes(candidate.address) ? pod : undefined;
}

/** Pure: the app's pods by name, for podOf. */
export function podsByName(pods: readonly V1Pod[]): Map<string, V1Pod> {
  const byName = new Map<string, V1Pod>();
  for (const pod of pods) if (pod.metadata?.name) byName.set(pod.metadata.name, pod);
  return byName;
}
