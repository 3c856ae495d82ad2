import { describe, expect, it } from 'vitest';
import type { PodObj, ServiceObj, SliceObj } from '../../../core/objects.ts';
import { buildSlice, ownEndpointsReady, readyInterceptors, sameInterceptors, sliceName, sliceUpToDate } from '../../../reconciler/slices.ts';

const service: ServiceObj = {
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', resourceVersion: '1' },
  selector: { app: 'web' },
  ports: [
    { name: 'http', port: 80, protocol: 'TCP', targetPort: 'lull-8080', appProtocol: 'http' },
    { name: 'grpc', port: 9090, protocol: 'TCP', targetPort: 'lull-9090' },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ],
};
const route = { deployment: 'web', ports: { http: 20001, grpc: 20002 } };

function pod(name: string, ip: string | undefined, ready = true, extra: Partial<PodObj> = {}): PodObj {
  return { metadata: { name, namespace: 'lull-system', uid: `${name}-uid`, resourceVersion: '1' }, ready, phase: 'Running', ...(ip ? { ip } : {}), ...extra };
}

describe('readyInterceptors', () => {
  it('takes ready, addressed, running pods that are not stopping, in address order', () => {
    const pods = [
      pod('b', '10.213.0.9'),
      pod('a', '10.213.0.4'),
      pod('unready', '10.213.0.5', false),
      pod('no-ip', undefined),
      pod('stopping', '10.213.0.6', true, { metadata: { name: 'stopping', namespace: 'lull-system', uid: 'u', resourceVersion: '1', deletionTimestamp: '2024-01-01T00:00:00Z' } }),
    ];
    expect(readyInterceptors(pods).map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('tells a real change of the endpoints from a pod update that changes none (the slices are looked at only then)', () => {
    const before = readyInterceptors([pod('a', '10.213.0.4'), pod('b', '10.213.0.9')]);
    expect(sameInterceptors(before, readyInterceptors([pod('b', '10.213.0.9', true, { startedAt: 5 }), pod('a', '10.213.0.4')]))).toBe(true);
    expect(sameInterceptors(before, readyInterceptors([pod('a', '10.213.0.4'), pod('b', '10.213.0.9', false)]))).toBe(false);
    expect(sameInterceptors(before, readyInterceptors([pod('a', '10.213.0.4'), pod('c', '10.213.0.9')]))).toBe(false);
  });
});

describe('buildSlice', () => {
  const interceptors = readyInterceptors([pod('icpt-1', '10.213.0.4'), pod('icpt-2', '10.213.0.9')]);

  it('labels the slice for kube-proxy and as Lull\'s, and ties it to its Service', () => {
    const slice = buildSlice(service, route, interceptors);
    expect(slice.metadata).toMatchObject({
      name: 'web-lull',
      namespace: 'shop',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'reconciler.lull.dev' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid' }],
    });
    expect(sliceName('web')).toBe('web-lull');
  });

  it('has the interceptor pods as ready endpoints and the Service port names on the interceptor ports', () => {
    const slice = buildSlice(service, route, interceptors);
    expect(slice.addressType).toBe('IPv4');
    expect(slice.endpoints).toEqual([
      { addresses: ['10.213.0.4'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'lull-system', name: 'icpt-1', uid: 'icpt-1-uid' } },
      { addresses: ['10.213.0.9'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'lull-system', name: 'icpt-2', uid: 'icpt-2-uid' } },
    ]);
    // UDP cannot be intercepted: no port for it.
    expect(slice.ports).toEqual([
      { name: 'http', port: 20001, protocol: 'TCP', appProtocol: 'http' },
      { name: 'grpc', port: 20002, protocol: 'TCP' },
    ]);
  });

  it('uses an empty port name for a Service\'s single unnamed port, as kube-proxy matches', () => {
    const single: ServiceObj = { ...service, ports: [{ port: 80, protocol: 'TCP', targetPort: 'lull-8080' }] };
    expect(buildSlice(single, { deployment: 'web', ports: { '80': 20003 } }, interceptors).ports).toEqual([{ name: '', port: 20003, protocol: 'TCP' }]);
  });

  it('keeps only endpoints of the Service\'s address family', () => {
    const v6: ServiceObj = { ...service, ipFamilies: ['IPv6'] };
    const mixed = readyInterceptors([pod('four', '10.213.0.4'), pod('six', 'fd00::4')]);
    const slice = buildSlice(v6, route, mixed);
    expect(slice.addressType).toBe('IPv6');
    expect(slice.endpoints.map((e) => e.addresses[0])).toEqual(['fd00::4']);
  });

  it('is up to date only when endpoints, ports, labels and owner all match', () => {
    const desired = buildSlice(service, route, interceptors);
    const stored: SliceObj = {
      metadata: { ...desired.metadata, uid: 'slice-uid', resourceVersion: '7' },
      addressType: desired.addressType,
      endpoints: [...desired.endpoints].reverse(),
      ports: desired.ports,
    };
    expect(sliceUpToDate(stored, desired)).toBe(true);
    expect(sliceUpToDate(stored, buildSlice(service, route, interceptors.slice(0, 1)))).toBe(false);
    expect(sliceUpToDate(stored, buildSlice(service, { deployment: 'web', ports: { http: 20001, grpc: 20005 } }, interceptors))).toBe(false);
    expect(sliceUpToDate({ ...stored, metadata: { ...stored.metadata, ownerReferences: [] } }, desired)).toBe(false);
  });
});

describe('ownEndpointsReady', () => {
  const slice = (managedBy: string, ready: boolean | undefined): SliceObj => ({
    metadata: { name: `web-${managedBy}`, namespace: 'shop', uid: 'u', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': managedBy } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.213.0.20'], ...(ready === undefined ? {} : { conditions: { ready } }) }],
    ports: [],
  });

  it('looks at the app\'s own endpoints only, never the interceptor\'s', () => {
    expect(ownEndpointsReady([slice('reconciler.lull.dev', true)])).toBe(false);
    expect(ownEndpointsReady([slice('reconciler.lull.dev', true), slice('endpointslice-controller.k8s.io', false)])).toBe(false);
    expect(ownEndpointsReady([slice('reconciler.lull.dev', true), slice('endpointslice-controller.k8s.io', true)])).toBe(true);
    // An unknown condition counts as ready, as the API says consumers should read it.
    expect(ownEndpointsReady([slice('endpointslice-controller.k8s.io', undefined)])).toBe(true);
  });
});
