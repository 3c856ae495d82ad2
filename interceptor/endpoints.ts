// Where an app's pods are, from its Service's own EndpointSlices: not-ready endpoints included, so a
// new pod is known (and its sidecar asked) the moment it has an address. Pure.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, SLICE_MANAGED_BY } from '../core/interceptor-contract.ts';

export interface Candidate {
  /** One pod incarnation: a reused address is a different key. */
  key: string;
  address: string;
  /** The pod port for the route's Service port (the sidecar's). */
  port: number;
  /** The pod's name, from the endpoint's targetRef. */
  pod: string | undefined;
  /** The slice says it is ready. */
  ready: boolean;
  terminating: boolean;
}

/** Slices Lull made point at the interceptor itself: following them would loop. */
export function isInterceptorSlice(slice: Pick<V1EndpointSlice, 'metadata'>): boolean {
  return slice.metadata?.labels?.[MANAGED_BY_LABEL] === SLICE_MANAGED_BY;
}

/** Every endpoint of the Service's own slices that serves `portName`, one per address. */
export function candidates(slices: readonly V1EndpointSlice[], portName: string): Candidate[] {
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
        pod: ref?.kind === 'Pod' || ref?.kind === undefined ? ref?.name : undefined,
        // Unset means ready, per the EndpointSlice API.
        ready: conditions.ready !== false && conditions.terminating !== true,
        terminating: conditions.terminating === true,
      };
      const seen = byAddress.get(address);
      // During an update an address can sit in two slices: the readier entry wins.
      if (seen === undefined || (!seen.ready && candidate.ready)) byAddress.set(address, candidate);
    }
  }
  return [...byAddress.values()];
}
