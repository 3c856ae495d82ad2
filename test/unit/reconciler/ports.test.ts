import { describe, expect, it } from 'vitest';
import type { RouteRecord } from '../../../core/interceptor-contract.ts';
import type { ServicePort } from '../../../core/objects.ts';
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
  });

  it('adds a new Service port and drops a removed one without moving the others', () => {
    const current = { deployment: 'web', ports: { http: 20003, old: 20004 } };
    expect(allocate('web', [http, grpc], current, none, RANGE)).toEqual({ deployment: 'web', ports: { http: 20003, grpc: 20000 } });
  });

  it("never hands out a port another Service owns, and moves off one that turned out to be another's", () => {
    const taken = (p: number) => p === 20000 || p === 20001;
    expect(allocate('api', [http, grpc], undefined, taken, RANGE)).toEqual({ deployment: 'api', ports: { http: 20002, grpc: 20003 } });
    // 20001 is another Service's record: this one gets a new port.
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
  const record = (port: number, service: string, deployment = service, namespace = 'ns'): RouteRecord => ({ port, namespace, service, deployment, servicePort: 'http', portName: 'http' });

  it('is collision-free across many Services and reuses the ports of a Service that is gone', () => {
    let now = 0;
    const table = new PortTable(() => now);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const key = `ns/svc${i}`;
      const route = allocate(`d${i}`, [http], undefined, table.takenByOthers(key), RANGE, table.lowestFree(RANGE.first))!;
      table.wrote(route.ports.http!, record(route.ports.http!, `svc${i}`, `d${i}`));
      seen.add(route.ports.http!);
    }
    expect(seen.size).toBe(10);
    expect(allocate('x', [http], undefined, table.takenByOthers('ns/x'), RANGE, table.lowestFree(RANGE.first))).toBeUndefined();

    table.observe(20003, undefined); // written: a cache that has not caught up does not free it
    expect(table.record(20003)).toMatchObject({ service: 'svc3' });
    now = 61_000; // the write is a minute old; the cache is the truth again
    table.observe(20003, undefined);
    expect(table.record(20003)).toBeUndefined();
    expect(allocate('x', [http], undefined, table.takenByOthers('ns/x'), RANGE, table.lowestFree(RANGE.first))).toEqual({ deployment: 'x', ports: { http: 20003 } });

    table.wrote(20007, undefined);
    expect(table.lowestFree(RANGE.first)).toBe(20003);
  });

  it('has one owner per port: the record, whatever any Service says', () => {
    const table = new PortTable();
    table.observe(20000, record(20000, 'original', 'original', 'a'));
    expect(table.takenByOthers('b/copy')(20000)).toBe(true);
    expect(table.takenByOthers('a/original')(20000)).toBe(false);
    expect(table.routeOf('a/original')).toEqual({ deployment: 'original', ports: { http: 20000 } });
    expect(table.routeOf('b/copy')).toBeUndefined();
    // A record that cannot be read still takes its port, from everyone.
    table.observe(20001, null);
    expect(table.takenByOthers('a/original')(20001)).toBe(true);
  });

  it('indexes records by Service and by Deployment, and follows a record moved to another Deployment', () => {
    const table = new PortTable(() => 0);
    table.observe(20004, record(20004, 'web', 'web-v1'));
    table.observe(20005, { ...record(20005, 'web', 'web-v1'), servicePort: 'grpc', portName: 'grpc' });
    expect(table.servicesRouting('ns/web-v1')).toEqual(['web']);
    expect(table.appsOf('ns/web')).toEqual(['ns/web-v1']);
    expect(table.apps()).toEqual(['ns/web-v1']);
    const previous = table.observe(20004, record(20004, 'web', 'web-v2'));
    expect(previous).toMatchObject({ deployment: 'web-v1' });
    expect(table.appsOf('ns/web').sort()).toEqual(['ns/web-v1', 'ns/web-v2']);
    table.observe(20005, undefined);
    expect(table.servicesRouting('ns/web-v1')).toEqual([]);
    expect(table.size).toBe(1);
  });

  it('keeps a record it wrote until the cache shows it', () => {
    const table = new PortTable(() => 0);
    table.wrote(20004, record(20004, 'web'));
    table.observe(20004, undefined);
    expect(table.routeOf('ns/web')).toEqual({ deployment: 'web', ports: { http: 20004 } });
    table.observe(20004, record(20004, 'web'));
    table.observe(20004, undefined); // caught up: a later delete is real
    expect(table.routeOf('ns/web')).toBeUndefined();
  });
});
