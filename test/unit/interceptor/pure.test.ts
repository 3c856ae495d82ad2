// The interceptor's pure decisions: routes, limits, wake patches, endpoints, failures, refusals.
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { candidates, podOf, podsByName, type Candidate } from '../../../interceptor/endpoints.ts';
import { podFailure, wakeFailure } from '../../../interceptor/failure.ts';
import { selectorString } from '../../../interceptor/kube.ts';
import { admit, holdDeadline, namespaceShare, overCap } from '../../../interceptor/limits.ts';
import { adminPortOf } from '../../../interceptor/readiness.ts';
import { refusalOf, refusalResponse, requestVersion } from '../../../interceptor/refuse.ts';
import { routeTable } from '../../../interceptor/routes.ts';
import { parseConfig } from '../../../interceptor/config.ts';
import { needsScale, scalePatch, wakeReplicas, wakingPatch } from '../../../core/wake.ts';
import { errors, lullError } from '../../../core/errors.ts';
import { buildRouteRecord, recordPort, routeRecordName } from '../../../core/interceptor-contract.ts';

const record = (port: number, data: Record<string, string>, name = routeRecordName(port)) => ({ metadata: { name, namespace: 'lull-system' }, data });
const web = { namespace: 'a', service: 'web', deployment: 'web-deploy', 'service-port': 'http', 'port-name': 'http' };

describe('routeTable', () => {
  it('maps each record to its Service port and Deployment, the port read from the record name', () => {
    const table = routeTable([
      buildRouteRecord({ port: 20001, namespace: 'a', service: 'web', deployment: 'web-deploy', servicePort: 'http', portName: 'http' }, 'lull-system'),
      buildRouteRecord({ port: 20002, namespace: 'a', service: 'web', deployment: 'web-deploy', servicePort: '9090', portName: '' }, 'lull-system'),
    ]);
    expect(table.problems).toEqual([]);
    expect(table.byPort.get(20001)).toEqual({ port: 20001, namespace: 'a', service: 'web', deployment: 'web-deploy', servicePort: 'http', portName: 'http' });
    expect(table.byPort.get(20002)).toMatchObject({ servicePort: '9090', portName: '' });
    expect(table.byPort.size).toBe(2);
  });

  it('takes no route from anything but a well-formed record: other names, ports out of range, missing or odd fields', () => {
    const table = routeTable([
      record(20003, web, 'lull-defaults'),
      record(20004, web, 'lull-port-80'),
      record(20005, web, 'lull-port-020005x'),
      record(20006, { ...web, deployment: '' }),
      record(20007, { ...web, namespace: 'A/../b' }),
      record(20008, { namespace: 'a', service: 'web' }),
    ]);
    expect(table.byPort.size).toBe(0);
    expect(table.problems).toHaveLength(6);
  });

  it('has no conflicts to resolve: a port is one record, whatever Services claim on their annotations', () => {
    expect(recordPort(routeRecordName(29999))).toBe(29999);
    expect(recordPort('lull-port-30000')).toBeUndefined();
    const table = routeTable([record(20009, web)]);
    expect(table.byPort.get(20009)?.namespace).toBe('a');
  });
});

describe('limits', () => {
  const settings = { maxHeld: 2, holdTimeoutMs: 1000 };
  const caps = { maxTotal: 10, maxPerNamespace: 4 };
  it("holds up to max-held per app, the namespace's share and the interceptor-wide cap, naming the most specific", () => {
    expect(admit(0, settings, 0, 0, caps)).toBe('hold');
    expect(admit(2, settings, 2, 2, caps)).toBe('app-full');
    expect(admit(1, settings, 4, 4, caps)).toBe('namespace-full');
    expect(admit(0, settings, 3, 10, caps)).toBe('interceptor-full');
    expect(admit(2, settings, 4, 10, caps)).toBe('app-full');
    // An app allowed more than its namespace's share meets the share.
    expect(admit(4, { maxHeld: 50_000, holdTimeoutMs: 1000 }, 4, 4, caps)).toBe('namespace-full');
  });
  it('reads the namespace share as a count or a percentage of the cap, never above it', () => {
    expect(namespaceShare('25%', 50_000)).toBe(12_500);
    expect(namespaceShare('25%', 2)).toBe(1);
    expect(namespaceShare('100%', 40)).toBe(40);
    expect(namespaceShare('300', 1000)).toBe(300);
    for (const bad of ['0', '0%', '101%', '1001', '-1', 'a lot', '']) expect(namespaceShare(bad, 1000)).toBeUndefined();
  });
  it('computes deadlines and the excess over a lowered cap', () => {
    expect(holdDeadline(5000, settings)).toBe(6000);
    expect(overCap(5, settings)).toBe(3);
    expect(overCap(1, settings)).toBe(0);
  });
});

describe('wake', () => {
  it('wakes to the remembered replicas, else wake-replicas, else 1', () => {
    expect(wakeReplicas({ 'lull.dev/replicas-before-sleep': '3', 'lull.dev/wake-replicas': '2' })).toBe(3);
    expect(wakeReplicas({ 'lull.dev/replicas-before-sleep': '0', 'lull.dev/wake-replicas': '2' })).toBe(2);
    expect(wakeReplicas({ 'lull.dev/replicas-before-sleep': 'x' })).toBe(1);
    expect(wakeReplicas(undefined)).toBe(1);
    // Autoscaled: the held connections are demand (200 held for target 10: 20 at once), within max-replicas.
    const autoscaled = { 'lull.dev/target-concurrency': '10', 'lull.dev/replicas-before-sleep': '1' };
    expect(wakeReplicas(autoscaled, undefined, 200)).toBe(20);
    expect(wakeReplicas({ ...autoscaled, 'lull.dev/max-replicas': '12' }, undefined, 200)).toBe(12);
    expect(wakeReplicas(autoscaled, undefined, 3)).toBe(1);
  });
  it('guards the scale with a test of an empty (zero) spec, and the state with a test of sleeping', () => {
    // autoscaling/v1 Scale has `spec: {}` at zero (replicas is omitempty).
    expect(scalePatch(2)).toEqual([{ op: 'test', path: '/spec', value: {} }, { op: 'add', path: '/spec/replicas', value: 2 }]);
    expect(wakingPatch()).toEqual([
      { op: 'test', path: '/metadata/annotations/lull.dev~1state', value: 'sleeping' },
      { op: 'replace', path: '/metadata/annotations/lull.dev~1state', value: 'waking' },
    ]);
    expect(needsScale({ spec: { replicas: 0, selector: {}, template: {} } })).toBe(true);
    expect(needsScale({ spec: { replicas: 1, selector: {}, template: {} } })).toBe(false);
  });
  it('writes label selectors as the apiserver reads them', () => {
    expect(selectorString({ matchLabels: { app: 'web', tier: 'x' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }, { key: 'gone', operator: 'DoesNotExist' }] })).toBe(
      'app=web,tier=x,env in (a,b),!gone',
    );
  });
});

describe('candidates', () => {
  const slice = (labels: Record<string, string>, endpoints: V1EndpointSlice['endpoints'], ports = [{ name: 'http', port: 9931 }]): V1EndpointSlice => ({
    addressType: 'IPv4',
    metadata: { labels, namespace: 'shop' },
    endpoints,
    ports,
  });
  it('takes the app’s own slices, not-ready endpoints included, and never Lull’s interceptor slices', () => {
    const list = candidates(
      [
        slice({ 'kubernetes.io/service-name': 'web' }, [
          { addresses: ['10.0.0.5'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1', uid: 'u1' } },
          { addresses: ['10.0.0.6'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'web-2', uid: 'u2' } },
          { addresses: ['10.0.0.7'], conditions: { ready: false, serving: true, terminating: true }, targetRef: { kind: 'Pod', name: 'web-3', uid: 'u3' } },
          { addresses: ['10.0.0.8'], targetRef: { kind: 'Pod', name: 'web-4', uid: 'u4' } },
        ]),
        slice({ 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'reconciler.lull.dev' }, [{ addresses: ['10.0.0.100'] }], [{ name: 'http', port: 20001 }]),
      ],
      'http',
    );
    expect(list).toEqual([
      { key: 'u1@10.0.0.5', address: '10.0.0.5', port: 9931, pod: 'web-1', podNamespace: 'shop', podUid: 'u1', ready: true, terminating: false },
      { key: 'u2@10.0.0.6', address: '10.0.0.6', port: 9931, pod: 'web-2', podNamespace: 'shop', podUid: 'u2', ready: false, terminating: false },
      { key: 'u3@10.0.0.7', address: '10.0.0.7', port: 9931, pod: 'web-3', podNamespace: 'shop', podUid: 'u3', ready: false, terminating: true },
      { key: 'u4@10.0.0.8', address: '10.0.0.8', port: 9931, pod: 'web-4', podNamespace: 'shop', podUid: 'u4', ready: true, terminating: false },
    ]);
  });
  it('matches the Service port by name, unnamed as ""', () => {
    const s = slice({}, [{ addresses: ['10.0.0.5'] }], [{ port: 9931 } as { name: string; port: number }]);
    expect(candidates([s], '')).toHaveLength(1);
    expect(candidates([s], 'http')).toHaveLength(0);
  });
  it("keeps only addresses that are the IP of one of the woken Deployment's pods", () => {
    const pod = (name: string, ip: string, extra: Partial<V1Pod['spec']> = {}, namespace = 'shop'): V1Pod => ({
      metadata: { name, namespace, uid: `u-${name}`, labels: { app: 'web' } },
      spec: { containers: [], ...extra },
      status: { podIP: ip, podIPs: [{ ip }] },
    });
    // The pod watch is by the Deployment's selector in the app's namespace: these are the app's pods.
    const pods = podsByName([pod('web-1', '10.0.0.5'), pod('web-2', '10.0.0.6'), pod('host', '192.168.1.10', { hostNetwork: true })]);
    const endpoints: V1EndpointSlice['endpoints'] = [
      { addresses: ['10.0.0.5'], targetRef: { kind: 'Pod', name: 'web-1', uid: 'u-web-1' } }, // the app's pod
      { addresses: ['10.0.0.66'], targetRef: { kind: 'Pod', name: 'web-2', uid: 'u-web-2' } }, // its name, another address
      { addresses: ['10.9.9.9'], targetRef: { kind: 'Pod', name: 'web-1', namespace: 'victim', uid: 'u-web-1' } }, // another namespace's pod
      { addresses: ['169.254.169.254'] }, // no targetRef: an address anyone can write
      { addresses: ['10.0.0.6'], targetRef: { kind: 'Node', name: 'web-2' } }, // not a Pod
      { addresses: ['10.0.0.7'], targetRef: { kind: 'Pod', name: 'stranger', uid: 'u-x' } }, // not selected by the Deployment
      { addresses: ['192.168.1.10'], targetRef: { kind: 'Pod', name: 'host', uid: 'u-host' } }, // the node's address
      { addresses: ['10.0.0.6'], targetRef: { kind: 'Pod', name: 'web-2', uid: 'an-older-incarnation' } },
    ];
    const isPod = (c: Candidate) => podOf(c, pods, 'shop') !== undefined;
    expect(candidates([slice({ 'kubernetes.io/service-name': 'web' }, endpoints)], 'http', isPod).map((c) => c.address)).toEqual(['10.0.0.5']);
    // A ready entry that is no pod does not mask the not-ready one that is, at the same address.
    const masked = [{ addresses: ['10.0.0.6'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'stranger', uid: 'u-x' } }, { addresses: ['10.0.0.6'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'web-2', uid: 'u-web-2' } }];
    expect(candidates([slice({}, masked)], 'http', isPod)).toEqual([expect.objectContaining({ pod: 'web-2', ready: false })]);
  });
});

describe('failure', () => {
  const pod = (status: V1Pod['status'], name = 'web-1'): V1Pod => ({ metadata: { name }, status });
  it('names a crash loop with its last exit', () => {
    const p = pod({
      phase: 'Running',
      containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2s' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }],
    });
    expect(podFailure(p)).toBe('pod web-1, container app: CrashLoopBackOff (back-off 2s) (last exit: exit code 1, Error)');
  });
  it('names a command that cannot start', () => {
    const p = pod({ phase: 'Pending', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 128, reason: 'StartError', message: 'spawn nope ENOENT' } } }] });
    expect(podFailure(p)).toMatch(/StartError: spawn nope ENOENT/);
  });
  it('is patient with pods still starting, and with an app some pod of which may still come up', () => {
    const starting = pod({ phase: 'Pending', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }, 'web-2');
    const crashing = pod({ phase: 'Running', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
    expect(podFailure(starting)).toBeUndefined();
    expect(wakeFailure([starting, crashing], undefined)).toBeUndefined();
    expect(wakeFailure([crashing], undefined)).toMatch(/CrashLoopBackOff/);
    expect(wakeFailure([], undefined)).toBeUndefined();
  });
  it('names a Deployment that cannot create pods', () => {
    const deployment = { status: { conditions: [{ type: 'ReplicaFailure', status: 'True', message: 'exceeded quota' }] } };
    expect(wakeFailure([], deployment as never)).toBe('cannot create pods: exceeded quota');
  });
});

describe('refusal', () => {
  it('is a 503 with Retry-After and a one-line reason, in the client’s HTTP version', () => {
    const refusal = refusalOf(lullError(errors.holdTimeout, 'ns/web', '2m'));
    const text = refusalResponse(refusal, '1.0').toString();
    expect(text).toMatch(/^HTTP\/1\.0 503 Service Unavailable\r\n/);
    expect(text).toContain('Retry-After: 5\r\n');
    expect(text).toContain('Connection: close\r\n');
    const body = text.split('\r\n\r\n')[1]!;
    expect(body).toBe('LULL_HOLD_TIMEOUT: ns/web did not become ready within 2m (lull.dev/hold-timeout)\n');
    expect(text).toContain(`Content-Length: ${Buffer.byteLength(body)}\r\n`);
  });
  it('reads the version from the request line', () => {
    expect(requestVersion(Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n'))).toBe('1.0');
    expect(requestVersion(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('1.1');
  });
});

describe('adminPortOf', () => {
  it('finds the sidecar admin port by name, else the default', () => {
    expect(adminPortOf({ spec: { containers: [], initContainers: [{ name: 'lull-sidecar', ports: [{ name: 'lull-admin', containerPort: 9950 }] }] } })).toBe(9950);
    expect(adminPortOf(undefined)).toBe(9930);
  });
});

describe('config', () => {
  it("takes each namespace's share as a count or a share of the cap, from the flag or the lull-defaults ConfigMap", () => {
    expect(parseConfig([], {}).maxHeldPerNamespace).toBe(12_500);
    expect(parseConfig(['--max-held-total', '40'], { LULL_MAX_HELD_PER_NAMESPACE: '10%' }).maxHeldPerNamespace).toBe(4);
    expect(parseConfig(['--max-held-per-namespace', '7'], { LULL_MAX_HELD_PER_NAMESPACE: '10%' }).maxHeldPerNamespace).toBe(7);
    expect(parseConfig([], { POD_NAMESPACE: 'lull-x' }).namespace).toBe('lull-x');
    expect(() => parseConfig(['--max-held-total', '10', '--max-held-per-namespace', '11'], {})).toThrow(/--max-held-per-namespace has value "11": a whole number from 1 to --max-held-total \(10\), or a share such as 25%/);
  });
});
