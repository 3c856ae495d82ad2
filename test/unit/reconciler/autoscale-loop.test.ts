// The autoscaler's pass against in-memory caches, fake sidecar answers and a recording API: scales
// through the guarded scale, records ScaledUp/ScaledDown, stands aside for an HPA once, leaves sleep alone.
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import { Autoscaler } from '../../../reconciler/autoscale/loop.ts';
import type { HpaObj } from '../../../reconciler/autoscale/hpa.ts';
import { totalLoad, type LoadAnswer } from '../../../reconciler/autoscale/load.ts';
import type { Informer } from '../../../core/informer.ts';
import { createMetrics } from '../../../reconciler/metrics.ts';
import type { DeploymentObj, NamespaceObj, PodObj } from '../../../core/objects.ts';
import { podIndex, World } from '../../../reconciler/world.ts';

function memInformer<T extends { metadata: { name: string; namespace?: string } }>(objects: T[], indexBy?: (o: T) => string | undefined): Informer<T> {
  const self: Informer<T> = {
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

function deployment(annotations: Record<string, string>, replicas = 1): DeploymentObj {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'dep-uid', resourceVersion: '100', annotations: { 'lull.dev/enabled': 'true', 'lull.dev/injected': '0.1.0', 'lull.dev/state': 'awake', ...annotations } },
    replicas,
    selector: { matchLabels: { app: 'web' } },
    podLabels: { app: 'web' },
    injected: true,
    hasTcpPort: true,
    fronted: { '8080': 'lull-8080' },
    portNames: {},
    rolledOut: true,
    readyReplicas: replicas,
    currentReplicas: replicas,
  };
}

const pod = (name: string): PodObj => ({ metadata: { name, namespace: 'shop', uid: name, resourceVersion: '1' }, deployment: 'web', ip: '10.0.0.1', phase: 'Running', ready: true, adminPort: 9930 });

function setup(d: DeploymentObj, hpas: HpaObj[] = [], starting = 0) {
  const pods = [...Array.from({ length: d.replicas }, (_, i) => pod(`web-${i}`)), ...Array.from({ length: starting }, (_, i) => ({ ...pod(`new-${i}`), ready: false }))];
  const ns: NamespaceObj = { metadata: { name: 'shop', uid: 'ns', resourceVersion: '1' } };
  const world = new World(
    {
      namespaces: memInformer([ns]),
      deployments: memInformer([d]),
      services: memInformer([]),
      slices: memInformer([]),
      pods: memInformer(pods, podIndex),
      interceptors: memInformer([]),
      routes: memInformer([]),
    },
    'lull-system',
  );
  const scales: Array<{ replicas: number; version?: string }> = [];
  const events: Array<{ reason: string; message: string }> = [];
  let perPod = 0;
  let clock = 1_000_000;
  let conflicts = 0;
  const scaler = new Autoscaler({
    world,
    hpas: memInformer(hpas),
    api: {
      getDeployment: async () => ({ ...d, metadata: { ...d.metadata, resourceVersion: '101' } }),
      scale: async (_ns, _name, replicas, version) => {
        if (conflicts-- > 0) throw new KubeApiError('PUT', '/scale', 409, 'Conflict', 'conflict');
        scales.push({ replicas, ...(version ? { version } : {}) });
      },
    },
    read: async (p): Promise<LoadAnswer> => (p.ready ? { pod: p.metadata.name, ready: true, load: { concurrency: perPod, rps: perPod * 5, windowMs: 1000, at: clock } } : { pod: p.metadata.name, error: 'connect ECONNREFUSED' }),
    record: async (_t, reason, message) => {
      events.push({ reason, message });
    },
    metrics: createMetrics({ processMetrics: false }),
    logger: createLogger('test', 'silent'),
    now: () => clock,
  });
  return {
    scaler,
    scales,
    events,
    load: (n: number) => (perPod = n),
    advance: () => (clock += 1000),
    conflictNext: (n: number) => (conflicts = n),
  };
}

describe('the autoscaler pass', () => {
  it('scales a loaded app up with a guarded scale and a ScaledUp Event saying why', async () => {
    const t = setup(deployment({ 'lull.dev/target-concurrency': '5', 'lull.dev/min-replicas': '1' }));
    t.load(50);
    await t.scaler.tick();
    // The cache has not seen the scale yet: no second write of the same count.
    t.advance();
    await t.scaler.tick();
    expect(t.scales).toEqual([{ replicas: 10, version: '100' }]);
    expect(t.events).toEqual([{ reason: 'ScaledUp', message: expect.stringMatching(/^Scaled from 1 to 10: panic: 50 in flight over the last 6s for a target of 5 per pod$/) }]);
    expect(t.scaler.views()[0]).toMatchObject({ key: 'shop/web', target: 5, observed: 50, desired: 10, panicking: true });
  });

  it('reads ready pods only: pods still starting neither answer nor count as the average', async () => {
    const t = setup(deployment({ 'lull.dev/target-concurrency': '5' }, 2), [], 8);
    t.load(5);
    await t.scaler.tick();
    expect(t.scaler.views()[0]?.observed).toBe(10);
    expect(t.scales).toEqual([]);
  });

  it('retries a conflict on a fresh read when only the status moved', async () => {
    const t = setup(deployment({ 'lull.dev/target-concurrency': '5' }));
    t.load(50);
    t.conflictNext(1);
    await t.scaler.tick();
    expect(t.scales).toEqual([{ replicas: 10, version: '101' }]);
  });

  it('leaves an app without a target alone', async () => {
    const t = setup(deployment({}));
    t.load(50);
    await t.scaler.tick();
    await t.scaler.tick();
    expect(t.scales).toEqual([]);
    expect(t.scaler.views()).toEqual([]);
  });

  it('stands aside for an HPA on the same Deployment, saying so once', async () => {
    const hpa: HpaObj = { metadata: { name: 'web-cpu', namespace: 'shop', resourceVersion: '1' }, target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } };
    const t = setup(deployment({ 'lull.dev/target-concurrency': '5' }), [hpa]);
    t.load(50);
    for (let i = 0; i < 3; i++) {
      await t.scaler.tick();
      t.advance();
    }
    expect(t.scales).toEqual([]);
    expect(t.events).toEqual([{ reason: 'AutoscaleYielded', message: 'HorizontalPodAutoscaler web-cpu scales this Deployment: Lull leaves 1 to N to it and only sleeps and wakes the app' }]);
    expect(t.scaler.views()[0]?.hpa).toBe('web-cpu');
  });

  it('never scales an app at zero, nor one being put to sleep', async () => {
    for (const [state, replicas] of [['sleeping', 0], ['waking', 0], ['sleeping', 1]] as const) {
      const t = setup(deployment({ 'lull.dev/target-concurrency': '5', 'lull.dev/state': state }, replicas));
      t.load(50);
      await t.scaler.tick();
      t.advance();
      await t.scaler.tick();
      expect(t.scales).toEqual([]);
    }
  });
});

describe('the app total from its pods', () => {
  const ok = (pod: string, concurrency: number | undefined): LoadAnswer => ({ pod, ready: true, load: concurrency === undefined ? undefined : { concurrency, rps: concurrency * 10, windowMs: 1000, at: 0 } });
  it('sums the pods, counts a pod without a full second yet as 0, and a pod that failed as the average', () => {
    expect(totalLoad([ok('a', 4), ok('b', 6)], 'concurrency')).toEqual({ total: 10, answered: 2, failed: 0 });
    expect(totalLoad([ok('a', 4), ok('b', undefined)], 'rps')).toEqual({ total: 40, answered: 2, failed: 0 });
    expect(totalLoad([ok('a', 4), ok('b', 6), { pod: 'c', error: 'timeout' }], 'concurrency')).toEqual({ total: 15, answered: 2, failed: 1 });
    expect(totalLoad([{ pod: 'c', error: 'timeout' }], 'concurrency')).toBeUndefined();
  });
});
