import { describe, expect, it } from 'vitest';
import { formatInterceptorRoute, parseInterceptorRoute } from '../../../core/interceptor-contract.ts';
import type { ServicePort } from '../../../reconciler/objects.ts';
import { allocate, PortTable, sameRoute } from '../../../reconciler/ports.ts';

const RANGE = { first: 20000, last: 20009 };
const http: ServicePort = { name: 'http', port: 80, protocol: 'TCP', targetPort: 'lull-8080' };
const grpc: ServicePort = { name: 'grpc', port: 9090, protocol: 'TCP' };
const dns: ServicePort = { name: 'dns', port: 53, protocol: 'UDP' };
const unnamed: ServicePort = { port: 8080, protocol: 'TCP' };
const none = () => false;

describe('allocate', () => {
  it('gives each TCP port of a Service the lowest free port, keyed by the port name or number', () => {
    expect(allocate('web', [http, grpc, dns], undefined, none, RANGE)).toEqual({ deployment: 'web', ports: { http: 20000, grpc: 20001 } });
    expect(allocate('web', [unnamed], undefined, none, RANGE)).toEqual({ deployment: 'web', ports: { '8080': 20000 } });
  });

  it('is stable: ports already held are kept, whatever is free below them', () => {
    const current = { deployment: 'web', ports: { http: 20005, grpc: 20007 } };
    expect(allocate('web', [http, grpc], current, none, RANGE)).toEqual(current);
    // The same through the annotation, as after a restart.
    const reread = parseInterceptorRoute({ 'lull.dev/interceptor-ports': formatInterceptorRoute(current) });
    expect(allocate('web', [http, grpc], reread, none, RANGE)).toEqual(current);
  });

  it('adds a new Service port and drops a removed one without moving the others', () => {
    const current = { deployment: 'web', ports: { http: 20003, old: 20004 } };
    expect(allocate('web', [http, grpc], current, none, RANGE)).toEqual({ deployment: 'web', ports: { http: 20003, grpc: 20000 } });
  });

  it('never hands out a port another Service owns, and moves off one it lost to an older Service', () => {
    const taken = (p: number) => p === 20000 || p === 20001;
    expect(allocate('api', [http, grpc], undefined, taken, RANGE)).toEqual({ deployment: 'api', ports: { http: 20002, grpc: 20003 } });
    // A copied annotation: 20001 belongs to the older Service, so this one gets a new port.
    expect(allocate('api', [http], { deployment: 'api', ports: { http: 20001 } }, taken, RANGE)).toEqual({ deployment: 'api', ports: { http: 20002 } });
  });

  it('drops held ports outside the range and says when the range is full', () => {
    expect(allocate('web', [http], { deployment: 'web', ports: { http: 31000 } }, none, RANGE)).toEqual({ deployment: 'web', ports: { http: 20000 } });
    expect(allocate('web', [http], undefined, () => true, RANGE)).toBeUndefined();
  });

  it('names the Deployment it routes to', () => {
    expect(allocate('web-v2', [http], { deployment: 'web', ports: { http: 20000 } }, none, RANGE)).toEqual({ deployment: 'web-v2', ports: { http: 20000 } });
    expect(sameRoute({ deployment: 'a', ports: { x: 1 } }, { deployment: 'a', ports: { x: 1 } })).toBe(true);
    expect(sameRoute({ deployment: 'a', ports: { x: 1 } }, { deployment: 'b', ports: { x: 1 } })).toBe(false);
  });
});

describe('PortTable', () => {
  it('is collision-free across many Services and reuses the ports of a Service that is gone', () => {
    let now = 0;
    const table = new PortTable(() => now);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const key = `ns/svc${i}`;
      const route = allocate(`d${i}`, [http], undefined, table.takenByOthers(key), RANGE, table.lowestFree(RANGE.first))!;
      table.reserve(key, `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`, route);
      seen.add(route.ports.http!);
    }
    expect(seen.size).toBe(10);
    expect(allocate('x', [http], undefined, table.takenByOthers('ns/x'), RANGE, table.lowestFree(RANGE.first))).toBeUndefined();

    table.observe('ns/svc3', '', undefined); // reserved: a stale cache view does not free it
    expect(table.owner(20003)).toBe('ns/svc3');
    now = 61_000; // the reservation has run out; the cache is the truth again
    table.observe('ns/svc3', '', undefined);
    expect(table.owner(20003)).toBeUndefined();
    expect(allocate('x', [http], undefined, table.takenByOthers('ns/x'), RANGE, table.lowestFree(RANGE.first))).toEqual({ deployment: 'x', ports: { http: 20003 } });

    table.remove('ns/svc7');
    expect(table.lowestFree(RANGE.first)).toBe(20003);
  });

  it('gives a port claimed twice to the older Service', () => {
    const table = new PortTable();
    table.observe('b/copy', '2024-06-01T00:00:00Z', [20000]);
    table.observe('a/original', '2024-01-01T00:00:00Z', [20000]);
    expect(table.owner(20000)).toBe('a/original');
    expect(table.takenByOthers('b/copy')(20000)).toBe(true);
    expect(table.takenByOthers('a/original')(20000)).toBe(false);
  });

  it('keeps a route it wrote until the cache shows it, and hands it back to the writer', () => {
    const table = new PortTable(() => 0);
    const route = { deployment: 'web', ports: { http: 20004 } };
    table.reserve('ns/web', 't', route);
    expect(table.reserved('ns/web')).toEqual(route);
    table.observe('ns/web', 't', [20004]);
    expect(table.reserved('ns/web')).toBeUndefined();
    expect(table.owner(20004)).toBe('ns/web');
  });
});
