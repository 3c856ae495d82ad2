// The interceptor slice as an EndpointSlice-reading ingress controller sees it (docs/ingress.md): the
// rule such controllers apply (test/e2e/support/slice-router.ts) finds the interceptors on the
// allocated port of the very Service port an Ingress names, by name or by number.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ServiceObj } from '../../../core/objects.ts';
import { buildSlice } from '../../../reconciler/slices.ts';
import { pickEndpoints } from '../../e2e/support/slice-router.ts';

const interceptors = [
  { name: 'icpt-a', namespace: 'lull-system', uid: 'a', ip: '10.213.0.4' },
  { name: 'icpt-b', namespace: 'lull-system', uid: 'b', ip: '10.213.0.9' },
];

function asApi(service: ServiceObj): V1Service {
  return { metadata: { name: service.metadata.name, namespace: service.metadata.namespace }, spec: { ports: service.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })) } };
}

describe('the interceptor slice through an ingress controller\'s eyes', () => {
  const service: ServiceObj = {
    metadata: { name: 'web', namespace: 'shop', uid: 'svc', resourceVersion: '1' },
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 'lull-8080' },
      { name: 'admin', port: 8081, protocol: 'TCP', targetPort: 'lull-8081' },
    ],
  };
  const slice = buildSlice(service, { deployment: 'web', ports: { http: 20001, admin: 20002 } }, interceptors) as unknown as V1EndpointSlice;

  it('routes a backend named by port name to every interceptor on that port\'s interceptor port', () => {
    expect(pickEndpoints(asApi(service), { name: 'http' }, [slice])).toEqual([
      { address: '10.213.0.4', port: 20001, slice: 'web-lull' },
      { address: '10.213.0.9', port: 20001, slice: 'web-lull' },
    ]);
  });

  it('routes a backend named by port number the same way', () => {
    expect(pickEndpoints(asApi(service), { number: 8081 }, [slice]).map((e) => e.port)).toEqual([20002, 20002]);
  });

  it('finds the single unnamed port of a Service (slice port name "")', () => {
    const unnamed: ServiceObj = { ...service, ports: [{ port: 80, protocol: 'TCP', targetPort: 'lull-8080' }] };
    const s = buildSlice(unnamed, { deployment: 'web', ports: { '80': 20005 } }, interceptors) as unknown as V1EndpointSlice;
    expect(pickEndpoints(asApi(unnamed), { number: 80 }, [s]).map((e) => `${e.address}:${e.port}`)).toEqual(['10.213.0.4:20005', '10.213.0.9:20005']);
  });

  it('ignores an empty Kubernetes-made slice and unready endpoints beside it', () => {
    const empty = { metadata: { name: 'web-x7k2p' }, addressType: 'IPv4', endpoints: [], ports: [{ name: 'http', port: 9931 }] } as V1EndpointSlice;
    const unready = { metadata: { name: 'web-q9z1m' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.213.0.30'], conditions: { ready: false } }], ports: [{ name: 'http', port: 9931 }] } as V1EndpointSlice;
    expect(pickEndpoints(asApi(service), { name: 'http' }, [empty, unready, slice]).map((e) => e.slice)).toEqual(['web-lull', 'web-lull']);
  });
});
