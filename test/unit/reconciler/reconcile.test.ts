// Whole reconciles against in-memory caches and a recording API: the sleep order, the guarded scale,
// waking by a user's scale, onboarding touches and opt-out.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildRouteRecord, type RouteRecord } from '../../../core/interceptor-contract.ts';
import { KubeApiError } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import type { ActivitySnapshot } from '../../../core/sidecar-contract.ts';
import type { Api } from '../../../reconciler/api.ts';
import { newMemory, type AppMemory, type Context } from '../../../reconciler/context.ts';
import { Deadlines } from '../../../reconciler/deadlines.ts';
import type { PodAnswer } from '../../../reconciler/idle.ts';
import type { Informer } from '../../../core/informer.ts';
import { createMetrics } from '../../../reconciler/metrics.ts';
import { trimRecord, type DeploymentObj, type NamespaceObj, type PodObj, type RecordObj, type ServiceObj, type SliceObj } from '../../../core/objects.ts';
import { PortTable } from '../../../reconciler/ports.ts';
import { reconcile } from '../../../reconciler/reconcile.ts';
import { SliceWrites } from '../../../reconciler/slice-writes.ts';
import { readyInterceptors } from '../../../reconciler/slices.ts';
import { podIndex, sliceIndex, World } from '../../../reconciler/world.ts';

function memInformer<T extends { metadata: { name: string; namespace?: string } }>(objects: T[], indexBy?: (o: T) => string | undefined): Informer<T> & { objects: T[] } {
  const self: Informer<T> & { objects: T[] } = {
    objects,
    path: '/fake',
    synced: Promise.resolve(),
    hasSynced: () => true,
    get: (namespace, name) => objects.find((o) => o.metadata.name === name && (o.metadata.namespace ?? '') === namespace),
    list: (namespace) => objects.filter((o) => namespace === undefined || (o.metadata.namespace ?? '') === namespace),
    indexed: (key) => objects.filter((o) => indexBy?.(o) === key),
    subscribe: () => () => undefined,
    start: () => self,
    stop() {},
  };
  return self;
}

const NOW = Date.parse('2024-05-01T12:00:00Z');

function deployment(annotations: Record<string, string>, extra: Partial<DeploymentObj> = {}): DeploymentObj {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'dep-uid', resourceVersion: '100', annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '3s', 'lull.dev/injected': '0.1.0', ...annotations } },
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    podLabels: { app: 'web' },
    injected: true,
    hasTcpPort: true,
    fronted: { '8080': 'lull-8080' },
    portNames: { http: 8080 },
    rolledOut: true,
    readyReplicas: 2,
    currentReplicas: 2,
    ...extra,
  };
}

const service = (annotations: Record<string, string> = {}): ServiceObj => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', resourceVersion: '7', creationTimestamp: '2024-01-01T00:00:00Z', annotations: { 'lull.dev/original-target-ports': '{"80":"http"}', ...annotations } },
  selector: { app: 'web' },
  ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'lull-8080' }],
});

const pod = (name: string, ip: string, namespace = 'shop', extra: Partial<PodObj> = {}): PodObj => ({
  metadata: { name, namespace, uid: `${name}-uid`, resourceVersion: '1' },
  deployment: 'web',
  ip,
  phase: 'Running',
  ready: true,
  startedAt: NOW - 60_000,
  adminPort: 9930,
  ...extra,
});

const ownSlice = (ready: boolean): SliceObj => ({
  metadata: { name: 'web-abcde', namespace: 'shop', uid: 'es', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.213.0.50'], conditions: { ready } }],
  ports: [{ name: 'http', port: 9931, protocol: 'TCP' }],
});

const lullSlice = (): SliceObj => ({
  metadata: { name: 'web-lull', namespace: 'shop', uid: 'ls', resourceVersion: '3', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'reconciler.lull.dev' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid' }] },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.213.0.2'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { name: 'icpt', kind: 'Pod' } }],
  ports: [{ name: 'http', port: 20000, protocol: 'TCP' }],
});

interface Setup {
  deployments: DeploymentObj[];
  services?: ServiceObj[];
  slices?: SliceObj[];
  pods?: PodObj[];
  namespaceLabels?: Record<string, string>;
  /** What each pod's sidecar answers. */
  activity?: Record<string, Partial<ActivitySnapshot> | Error>;
  /** What a fresh GET of the Deployment returns during a sleep (someone else's change). */
  fresh?: (d: DeploymentObj) => DeploymentObj;
  interceptorPods?: PodObj[];
  memory?: Partial<AppMemory>;
  /** The route records in Lull's namespace, as the cache shows them. */
  routes?: RouteRecord[];
  /** Records the apiserver has that the cache does not show yet (a create of their port gets 409). */
  unseen?: RouteRecord[];
}

/** The route record of Service web's port http, and the display copy that goes with it. */
const webRoute = (port = 20000, deployment = 'web', namespace = 'shop', service = 'web'): RouteRecord => ({ port, namespace, service, deployment, servicePort: 'http', portName: 'http' });
const shown = (port = 20000, deployment = 'web') => ({ 'lull.dev/interceptor-ports': `{"deployment":"${deployment}","ports":{"http":${port}}}` });

function setup(s: Setup) {
  const calls: string[] = [];
  const events: string[] = [];
  let deployment = s.deployments[0]!;
  let sliceVersion = 10;
  const fakeApi: Api = {
    async getDeployment() {
      calls.push('get deployment');
      return s.fresh ? s.fresh(deployment) : deployment;
    },
    async annotateDeployment(_ns, _name, changes, rv) {
      calls.push(`annotate deployment ${JSON.stringify(changes)}${rv ? ` if ${rv}` : ''}`);
      const annotations = { ...deployment.metadata.annotations };
      for (const [k, v] of Object.entries(changes)) if (v === null) delete annotations[k];
      else annotations[k] = v;
      deployment = { ...deployment, metadata: { ...deployment.metadata, annotations, resourceVersion: String(Number(deployment.metadata.resourceVersion) + 1) } };
      return deployment;
    },
    async annotateService(_ns, name, changes) {
      calls.push(`annotate service ${name} ${JSON.stringify(changes)}`);
    },
    async scale(_ns, _name, replicas, rv) {
      calls.push(`scale to ${replicas}${rv ? ` if ${rv}` : ''}`);
    },
    async touch(kind, _ns, name) {
      calls.push(`touch ${kind} ${name}`);
    },
    async getSlice() {
      return undefined;
    },
    async createSlice(slice) {
      calls.push(`create slice ${slice.metadata.name} ${JSON.stringify(slice.ports)} -> ${slice.endpoints.map((e) => e.addresses[0]).join(',')}`);
      return { ...slice, metadata: { ...slice.metadata, uid: 'new', resourceVersion: String(++sliceVersion) } } as unknown as SliceObj;
    },
    async replaceSlice(slice) {
      calls.push(`replace slice ${slice.metadata.name} -> ${slice.endpoints.map((e) => e.addresses[0]).join(',')}`);
      return { ...slice, metadata: { ...slice.metadata, resourceVersion: String(++sliceVersion) } } as unknown as SliceObj;
    },
    async deleteSlice(_ns, name) {
      calls.push(`delete slice ${name}`);
      return true;
    },
    async createRecord(r) {
      const unseen = s.unseen?.find((u) => u.port === r.port);
      if (unseen) throw new KubeApiError('POST', '/api/v1/namespaces/lull-system/configmaps', 409, 'AlreadyExists', `configmaps "lull-port-${r.port}" already exists`);
      calls.push(`create record ${r.port} ${r.namespace}/${r.service}:${r.servicePort} -> ${r.deployment}`);
    },
    async replaceRecord(r) {
      calls.push(`replace record ${r.port} ${r.namespace}/${r.service}:${r.servicePort} -> ${r.deployment}`);
    },
    async getRecord(port) {
      return s.unseen?.find((u) => u.port === port) ?? s.routes?.find((r) => r.port === port);
    },
    async deleteRecord(port) {
      calls.push(`delete record ${port}`);
    },
  };
  const namespaces = memInformer<NamespaceObj>([{ metadata: { name: 'shop', uid: 'n', resourceVersion: '1', labels: s.namespaceLabels ?? {} } }]);
  const interceptors = memInformer<PodObj>(s.interceptorPods ?? [pod('icpt', '10.213.0.2', 'lull-system', { deployment: undefined })]);
  const world = new World(
    {
      namespaces,
      deployments: memInformer(s.deployments),
      services: memInformer(s.services ?? [service()]),
      slices: memInformer(s.slices ?? [ownSlice(true)], sliceIndex),
      pods: memInformer(s.pods ?? [pod('web-1', '10.213.0.50')], podIndex),
      interceptors,
      routes: memInformer<RecordObj>((s.routes ?? []).map((r) => trimRecord(buildRouteRecord(r, 'lull-system')))),
    },
    'lull-system',
  );
  const ports = new PortTable(() => NOW);
  for (const r of s.routes ?? []) ports.observe(r.port, r);
  const memory = new Map<string, AppMemory>();
  if (s.memory) memory.set('shop/web', { ...newMemory(), ...s.memory });
  const ask = async (p: PodObj): Promise<PodAnswer> => {
    const a = s.activity?.[p.metadata.name] ?? { lastActivityAt: NOW - 10_000 };
    if (a instanceof Error) return { pod: p.metadata.name, error: a.message };
    return { pod: p.metadata.name, receivedAt: NOW, snapshot: { lastActivityAt: 0, inFlight: 0, requestsInFlight: 0, connectionsInFlight: 0, requestsTotal: 1, connectionsTotal: 0, ready: true, draining: false, startedAt: NOW - 60_000, now: NOW, ...a } };
  };
  const ctx: Context = {
    world,
    api: fakeApi,
    ask,
    record: async (_t, reason, message, _type, extra) => void events.push(`${reason}: ${message}${extra?.annotations ? ` ${JSON.stringify(extra.annotations)}` : ''}`),
    metrics: createMetrics({ processMetrics: false }),
    logger: createLogger('test', 'silent'),
    deadlines: new Deadlines(() => {}),
    ports,
    sliceWrites: new SliceWrites(() => NOW),
    interceptors: () => readyInterceptors(interceptors.list()),
    memory: (key) => {
      if (!memory.has(key)) memory.set(key, newMemory());
      return memory.get(key)!;
    },
    now: () => NOW,
  };
  return { ctx, calls, events, memory };
}

describe('reconcile', () => {
  it('puts an idle app to sleep in the order that loses nothing: state, route and slice, then a guarded scale', async () => {
    const { ctx, calls, events } = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })] });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual([
      // Ports are allocated while awake, so the interceptor can listen before the first sleep: the record, then its display copy.
      'create record 20000 shop/web:http -> web',
      'annotate service web {"lull.dev/interceptor-ports":"{\\"deployment\\":\\"web\\",\\"ports\\":{\\"http\\":20000}}"}',
      `annotate deployment {"lull.dev/state":"sleeping","lull.dev/replicas-before-sleep":"2","lull.dev/slept-at":"2024-05-01T12:00:00.000Z"} if 100`,
      'create slice web-lull [{"name":"http","port":20000,"protocol":"TCP"}] -> 10.213.0.2',
      'get deployment',
      'scale to 0 if 101',
    ]);
    expect(events).toEqual(['Slept: No request for 10s (idle-after 3s): scaled from 2 to 0; requests now wake it through the interceptor']);
  });

  it('sleeps on request (lull sleep) after a second of quiet, whatever its idle-after, and clears the request', async () => {
    const requested = { 'lull.dev/state': 'awake', 'lull.dev/idle-after': '1h', 'lull.dev/sleep-requested-at': '2024-05-01T11:59:59Z' };
    const quiet = setup({ deployments: [deployment(requested)], activity: { 'web-1': { lastActivityAt: NOW - 2000 }, 'web-2': { lastActivityAt: NOW - 2000 } } });
    await reconcile(quiet.ctx, 'shop/web');
    expect(quiet.calls).toContain(`annotate deployment {"lull.dev/state":"sleeping","lull.dev/replicas-before-sleep":"2","lull.dev/slept-at":"2024-05-01T12:00:00.000Z","lull.dev/sleep-requested-at":null} if 100`);
    expect(quiet.calls.at(-1)).toBe('scale to 0 if 101');
    expect(quiet.events).toEqual(['Slept: No request for 2s (idle-after 1s): scaled from 2 to 0; requests now wake it through the interceptor']);

    const busy = setup({ deployments: [deployment(requested)], activity: { 'web-1': { lastActivityAt: NOW - 500 } } });
    await reconcile(busy.ctx, 'shop/web');
    expect(busy.calls.some((c) => c.startsWith('scale'))).toBe(false);
  });

  it('does not scale to zero when the app was woken while the interceptor was put in front of it', async () => {
    const { ctx, calls, events } = setup({
      deployments: [deployment({ 'lull.dev/state': 'awake' })],
      fresh: (d) => ({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, 'lull.dev/state': 'waking' } } }),
    });
    await reconcile(ctx, 'shop/web');
    expect(calls.at(-1)).toBe('get deployment');
    expect(calls.some((c) => c.startsWith('scale'))).toBe(false);
    expect(events).toEqual([]);
  });

  it('asks nobody before the deadline, and waits a full idle period after a request in flight', async () => {
    const early = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' }, {})], pods: [pod('web-1', '10.213.0.50', 'shop', { startedAt: NOW - 1000 })] });
    const outcome = await reconcile(early.ctx, 'shop/web');
    expect(outcome.nextAt).toBe(NOW - 1000 + 3000);
    expect(early.calls.filter((c) => !c.startsWith('annotate service') && !c.startsWith('create record'))).toEqual([]);

    const busy = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], activity: { 'web-1': { lastActivityAt: NOW - 60_000, requestsInFlight: 1, inFlight: 1 } } });
    expect((await reconcile(busy.ctx, 'shop/web')).nextAt).toBe(NOW + 3000);
    expect(busy.calls.some((c) => c.includes('sleeping'))).toBe(false);
  });

  it('never sleeps when a pod cannot be asked', async () => {
    const { ctx, calls, memory } = setup({
      deployments: [deployment({ 'lull.dev/state': 'awake' })],
      pods: [pod('web-1', '10.213.0.50'), pod('web-2', '10.213.0.51')],
      activity: { 'web-2': new Error('connect ETIMEDOUT') },
    });
    const outcome = await reconcile(ctx, 'shop/web');
    expect(calls.some((c) => c.includes('sleeping'))).toBe(false);
    expect(outcome.nextAt).toBe(NOW + 500);
    expect(memory.get('shop/web')).toMatchObject({ failures: 1, retryAt: NOW + 500 });
  });

  it('keeps a sleeping app\'s slice and ports as they are, and does nothing more', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({ 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' }, { replicas: 0, readyReplicas: 0 })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [],
    });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual([]);
  });

  it('obeys a user who scales a sleeping app: the slice goes once its own endpoints are ready, then it is awake', async () => {
    const sleeping = deployment({ 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2', 'lull.dev/slept-at': 'x' }, { replicas: 3 });
    const notYet = setup({
      deployments: [sleeping],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
    });
    const outcome = await reconcile(notYet.ctx, 'shop/web');
    expect(notYet.calls).toEqual([]);
    expect(outcome.nextAt).toBe(NOW + 120_000); // the hold-timeout, for WakeFailed

    const ready = setup({
      deployments: [sleeping],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(true), lullSlice()],
    });
    await reconcile(ready.ctx, 'shop/web');
    expect(ready.calls).toEqual(['delete slice web-lull', 'annotate deployment {"lull.dev/state":"awake","lull.dev/replicas-before-sleep":null,"lull.dev/slept-at":null} if 100']);
    expect(ready.events).toEqual(['Woke: Ready 0ms after the wake began (scaled to 3 by someone other than Lull); requests go straight to the app again {"lull.dev/wake-duration-ms":"0"}']);
  });

  it('onboards: touches an opted-in Deployment without the sidecar, then waits before touching again', async () => {
    const { ctx, calls } = setup({ deployments: [deployment({ 'lull.dev/injected': '' }, { injected: false })], namespaceLabels: {} });
    const first = await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['touch deployment web']);
    expect(first.nextAt).toBe(NOW + 1000);
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['touch deployment web']);
  });

  it('marks a newly injected app awake once, and points its Service at the sidecar after the rollout', async () => {
    const { ctx, calls, events } = setup({
      deployments: [deployment({})],
      services: [{ ...service(), metadata: { ...service().metadata, annotations: {} }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }] }],
    });
    await reconcile(ctx, 'shop/web');
    expect(calls.slice(0, 2)).toEqual(['annotate deployment {"lull.dev/state":"awake"} if 100', 'touch service web']);
    expect(events).toEqual(['Onboarded: Lull manages this Deployment: it sleeps after 3s without traffic and wakes on the first request']);
    expect(calls.some((c) => c.includes('sleeping'))).toBe(false); // not through the sidecar yet: no sleep
  });

  it('opting out wakes a sleeping app to its remembered size first', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({ 'lull.dev/enabled': 'false', 'lull.dev/injected': '', 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' }, { replicas: 0, injected: false })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [],
    });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['scale to 2 if 100']);
  });

  it('opting out then restores Services, removes the slice once the app is reachable, and forgets the app', async () => {
    const { ctx, calls, events } = setup({
      deployments: [deployment({ 'lull.dev/enabled': 'false', 'lull.dev/injected': '', 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' }, { replicas: 2, injected: false })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(true), lullSlice()],
    });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual([
      'touch service web',
      'delete slice web-lull',
      'delete record 20000',
      'annotate service web {"lull.dev/interceptor-ports":null}',
      'annotate deployment {"lull.dev/state":null,"lull.dev/replicas-before-sleep":null} if 100',
    ]);
    expect(events).toEqual(['OptedOut: Lull no longer manages this Deployment: the sidecar is removed and its Services point at the app again']);
  });

  /** The warnings a reconcile logs, by message. */
  const warnings = (ctx: Context): string[] => {
    const lines: string[] = [];
    ctx.logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
    return lines;
  };
  const wakeFailures = async (ctx: Context) => (await ctx.metrics.wakeFailures.get()).values[0]?.value;

  it('counts and logs a wake that has no ready endpoint within the hold-timeout once, leaves the WakeFailed Event to the interceptor, and keeps waiting', async () => {
    const { ctx, calls, events } = setup({
      deployments: [deployment({ 'lull.dev/state': 'waking', 'lull.dev/replicas-before-sleep': '1' }, { replicas: 1, readyReplicas: 0 })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [pod('web-1', '10.213.0.50', 'shop', { ready: false, phase: 'Pending' })],
      memory: { wakeStartedAt: NOW - 121_000 },
    });
    const logged = warnings(ctx);
    await reconcile(ctx, 'shop/web');
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual([]);
    expect(events).toEqual([]);
    expect(logged).toEqual(['shop/web cannot come up: no ready endpoint 2m1s after the wake began (hold-timeout 2m): 0/1 pods ready; web-1 Pending']);
    expect(await wakeFailures(ctx)).toBe(1);
  });

  it('puts a wake that never scaled back to sleeping after the hold-timeout, so the next request retries', async () => {
    const { ctx, calls, events } = setup({
      deployments: [deployment({ 'lull.dev/state': 'waking', 'lull.dev/replicas-before-sleep': '1' }, { replicas: 0, readyReplicas: 0 })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [],
      memory: { wakeStartedAt: NOW - 120_000 },
    });
    const logged = warnings(ctx);
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['annotate deployment {"lull.dev/state":"sleeping"} if 100']);
    expect(events).toEqual([]);
    expect(logged[0]).toContain('shop/web cannot come up: no ready endpoint 2m after the wake began (hold-timeout 2m): the Deployment was never scaled up');
  });

  it('keeps the slice of a sleeping app in step with the interceptor pods', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({ 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' }, { replicas: 0, readyReplicas: 0 })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [],
      interceptorPods: [pod('icpt', '10.213.0.2', 'lull-system', { deployment: undefined }), pod('icpt-2', '10.213.0.3', 'lull-system', { deployment: undefined })],
    });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['replace slice web-lull -> 10.213.0.2,10.213.0.3']);
  });

  it('writes the interceptor slice once per real change, though the cache shows the write late', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({ 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' }, { replicas: 0, readyReplicas: 0 })],
      services: [service(shown())],
      routes: [webRoute()],
      slices: [ownSlice(false), lullSlice()],
      pods: [],
    });
    const interceptors = (ctx.world.informers.interceptors as unknown as { objects: PodObj[] }).objects;
    interceptors.push(pod('icpt-2', '10.213.0.3', 'lull-system', { deployment: undefined }));
    // Readiness events arrive one after another; the slice cache still shows the version before the write.
    for (let i = 0; i < 5; i++) await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['replace slice web-lull -> 10.213.0.2,10.213.0.3']);
    interceptors.pop();
    for (let i = 0; i < 5; i++) await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['replace slice web-lull -> 10.213.0.2,10.213.0.3', 'replace slice web-lull -> 10.213.0.2']);
  });

  it('forgets a deleted Deployment: its Service loses the interceptor ports and slice', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({})],
      services: [service(shown(20000, 'gone'))],
      routes: [webRoute(20000, 'gone')],
      slices: [ownSlice(true), lullSlice()],
    });
    const outcome = await reconcile(ctx, 'shop/gone');
    expect(outcome.gone).toBe(true);
    expect(calls).toEqual(['delete slice web-lull', 'delete record 20000', 'annotate service web {"lull.dev/interceptor-ports":null}']);
  });

  it('frees the ports of a Service that is gone, though its Deployment stays', async () => {
    const { ctx, calls } = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], services: [], routes: [webRoute(20007)] });
    await reconcile(ctx, 'shop/web');
    expect(calls).toEqual(['delete record 20007']);
    expect(ctx.ports.record(20007)).toBeUndefined();
  });

  it("takes no claim from a Service's annotation: a copy of another tenant's port gets a port of its own", async () => {
    const victim = webRoute(20000, 'login', 'victim', 'login');
    const { ctx, calls } = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], services: [service(shown(20000))], routes: [victim] });
    await reconcile(ctx, 'shop/web');
    expect(calls.slice(0, 2)).toEqual(['create record 20001 shop/web:http -> web', 'annotate service web {"lull.dev/interceptor-ports":"{\\"deployment\\":\\"web\\",\\"ports\\":{\\"http\\":20001}}"}']);
    expect(ctx.ports.record(20000)).toEqual(victim);
    expect(calls.some((c) => c.includes('record 20000'))).toBe(false);
  });

  it('allocates again when the apiserver already has a record for the port the cache showed free', async () => {
    const { ctx, calls } = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], services: [service()], unseen: [webRoute(20000, 'other', 'elsewhere', 'other')] });
    await reconcile(ctx, 'shop/web');
    expect(calls[0]).toBe('create record 20001 shop/web:http -> web');
    expect(ctx.ports.record(20000)).toMatchObject({ namespace: 'elsewhere' });
  });

  it('adopts its own record that the cache did not show yet, and moves a route to the Deployment now behind the Service', async () => {
    const adopted = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], services: [service()], unseen: [webRoute(20000)] });
    await reconcile(adopted.ctx, 'shop/web');
    expect(adopted.calls[0]).toMatch(/^annotate service web .*20000/);
    const moved = setup({ deployments: [deployment({ 'lull.dev/state': 'awake' })], services: [service(shown(20003, 'web-old'))], routes: [webRoute(20003, 'web-old')] });
    await reconcile(moved.ctx, 'shop/web');
    expect(moved.calls.slice(0, 1)).toEqual(['replace record 20003 shop/web:http -> web']);
  });

  it('rolls an app to the installed sidecar when it asks for upgrades (lull.dev/auto-upgrade-sidecar), with backoff', async () => {
    const annotations = { 'lull.dev/state': 'awake', 'lull.dev/auto-upgrade-sidecar': 'true', 'lull.dev/idle-after': '1h' };
    const { ctx, calls } = setup({ deployments: [deployment(annotations)] });
    ctx.sidecarVersion = '0.2.0';
    const first = await reconcile(ctx, 'shop/web');
    expect(calls.filter((c) => c.startsWith('touch'))).toEqual(['touch deployment web']);
    expect(first.nextAt).toBeLessThanOrEqual(NOW + 1000);
    // Seen again before the webhook re-injected: no second touch until the backoff passes.
    await reconcile(ctx, 'shop/web');
    expect(calls.filter((c) => c.startsWith('touch'))).toEqual(['touch deployment web']);
  });

  it('leaves an outdated sidecar alone without the annotation, and a current one with it', async () => {
    const without = setup({ deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/idle-after': '1h' })] });
    without.ctx.sidecarVersion = '0.2.0';
    await reconcile(without.ctx, 'shop/web');
    expect(without.calls.filter((c) => c.startsWith('touch'))).toEqual([]);
    const current = setup({ deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/idle-after': '1h', 'lull.dev/auto-upgrade-sidecar': 'true' })] });
    current.ctx.sidecarVersion = '0.1.0';
    await reconcile(current.ctx, 'shop/web');
    expect(current.calls.filter((c) => c.startsWith('touch'))).toEqual([]);
  });
});

describe('reconcile with awake-hours (NOW is Wednesday 2024-05-01 12:00 UTC)', () => {
  /** Events with their action (the data that says why). */
  function withActions(ctx: Context) {
    const recorded: string[] = [];
    ctx.record = async (_t, reason, message, _type, extra) => void recorded.push(`${reason} [${extra?.action ?? ''}]: ${message}`);
    return recorded;
  }
  const asleep = (annotations: Record<string, string>) =>
    deployment({ 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2', ...annotations }, { replicas: 0, readyReplicas: 0 });
  const asleepSetup = (annotations: Record<string, string>) =>
    setup({ deployments: [asleep(annotations)], services: [service(shown())], routes: [webRoute()], slices: [ownSlice(false), lullSlice()], pods: [] });

  it('outside the window sleeps as soon as nothing is in flight, whatever idle-after says, and says why', async () => {
    const { ctx, calls } = setup({ deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/idle-after': '1h', 'lull.dev/awake-hours': 'Mon-Fri 08:00-11:00 UTC' })], activity: { 'web-1': { lastActivityAt: NOW - 1000 } } });
    const events = withActions(ctx);
    const outcome = await reconcile(ctx, 'shop/web');
    expect(calls.at(-1)).toBe('scale to 0 if 101');
    expect(events).toEqual([
      'Slept [schedule]: Outside awake-hours "Mon-Fri 08:00-11:00 UTC" and nothing in flight: scaled from 2 to 0; it opens Thu 2024-05-02 08:00 UTC (2024-05-02T08:00:00Z); requests now wake it through the interceptor',
    ]);
    // The next look is at the opening.
    expect(outcome.nextAt).toBe(Date.parse('2024-05-02T08:00:00Z'));
  });

  it('outside the window asks again a second later while a request is in flight', async () => {
    const { ctx, calls } = setup({
      deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/awake-hours': 'Mon-Fri 08:00-11:00 UTC', 'lull.dev/outside-hours': 'refuse' })],
      activity: { 'web-1': { lastActivityAt: NOW - 100, requestsInFlight: 1, inFlight: 1 } },
    });
    expect((await reconcile(ctx, 'shop/web')).nextAt).toBe(NOW + 1000);
    expect(calls.some((c) => c.includes('sleeping'))).toBe(false);
  });

  it('inside the window keeps idle-after, says Slept [idle], and looks again at the close', async () => {
    const open = setup({ deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/idle-after': '1h', 'lull.dev/awake-hours': 'Mon-Fri 08:00-12:30 UTC' })], activity: { 'web-1': { lastActivityAt: NOW - 1000 } } });
    const outcome = await reconcile(open.ctx, 'shop/web');
    expect(open.calls.some((c) => c.includes('sleeping'))).toBe(false);
    expect(outcome.nextAt).toBe(Date.parse('2024-05-01T12:30:00Z'));

    const idle = setup({ deployments: [deployment({ 'lull.dev/state': 'awake', 'lull.dev/awake-hours': 'Mon-Fri 08:00-19:00 UTC' })] });
    const events = withActions(idle.ctx);
    await reconcile(idle.ctx, 'shop/web');
    expect(events).toEqual(['Slept [idle]: No request for 10s (idle-after 3s): scaled from 2 to 0; requests now wake it through the interceptor']);
  });

  it('wake-at-start scales a sleeping app up a lead before the window opens, and records why', async () => {
    const { ctx, calls } = asleepSetup({ 'lull.dev/awake-hours': 'Wed 12:02-18:00 UTC', 'lull.dev/wake-at-start': 'true', 'lull.dev/slept-at': '2024-04-30T18:00:00.000Z' });
    const events = withActions(ctx);
    await reconcile(ctx, 'shop/web');
    expect(calls).toContain('scale to 2 if 100');
    expect(events).toEqual(['Waking [schedule]: Awake-hours "Wed 12:02-18:00 UTC" open Wed 2024-05-01 12:02 UTC (2024-05-01T12:02:00Z): scaled from 0 to 2 3m ahead (wake-at-start)']);
    expect(ctx.memory('shop/web').wokeBySchedule).toBe(true);
  });

  it('wake-at-start waits for the lead, follows --wake-lead, and leaves asleep an app that slept idle inside the window', async () => {
    const early = asleepSetup({ 'lull.dev/awake-hours': 'Wed 12:10-18:00 UTC', 'lull.dev/wake-at-start': 'true', 'lull.dev/slept-at': '2024-04-30T18:00:00.000Z' });
    expect((await reconcile(early.ctx, 'shop/web')).nextAt).toBe(Date.parse('2024-05-01T12:07:00Z'));
    expect(early.calls.some((c) => c.startsWith('scale'))).toBe(false);

    const longLead = asleepSetup({ 'lull.dev/awake-hours': 'Wed 12:10-18:00 UTC', 'lull.dev/wake-at-start': 'true', 'lull.dev/slept-at': '2024-04-30T18:00:00.000Z' });
    longLead.ctx.wakeLeadMs = 15 * 60_000;
    await reconcile(longLead.ctx, 'shop/web');
    expect(longLead.calls).toContain('scale to 2 if 100');

    const sleptIdle = asleepSetup({ 'lull.dev/awake-hours': 'Wed 08:00-18:00 UTC', 'lull.dev/wake-at-start': 'true', 'lull.dev/slept-at': '2024-05-01T11:00:00.000Z' });
    expect((await reconcile(sleptIdle.ctx, 'shop/web')).nextAt).toBe(Date.parse('2024-05-01T18:00:00Z'));
    expect(sleptIdle.calls.some((c) => c.startsWith('scale'))).toBe(false);

    const without = asleepSetup({ 'lull.dev/awake-hours': 'Wed 12:02-18:00 UTC', 'lull.dev/slept-at': '2024-04-30T18:00:00.000Z' });
    await reconcile(without.ctx, 'shop/web');
    expect(without.calls.some((c) => c.startsWith('scale'))).toBe(false);
  });
});
