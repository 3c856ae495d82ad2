// The CLI's pure parts: kubectl-style parsing and formatting, kubeconfig merging, the app's state, the
// last wake from Events, and the status table.
import { KubeConfig, type CoreV1Event, type V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../core/annotations.ts';
import { clusterDefaultsFromConfigMap, clusterDefaultsFromEnv } from '../../../core/cluster-defaults.ts';
import { combine } from '../../../cli/activity.ts';
import { appView, displayState, isManaged } from '../../../cli/app-view.ts';
import { humanDuration, preciseDuration } from '../../../core/duration.ts';
import { kubeconfigFiles, mergeKubeconfigs } from '../../../cli/kubeconfig.ts';
import { notManagedReason } from '../../../cli/resolve.ts';
import { withdrawPatch } from '../../../cli/sleep.ts';
import { formatStatus, statusItem } from '../../../cli/status-report.ts';
import { formatTable } from '../../../cli/table.ts';
import { parseTarget } from '../../../cli/target.ts';
import { lastWakes, wokeDuration } from '../../../cli/wakes.ts';

function deployment(annotations: Record<string, string>, replicas = 1, ready = 1, sidecar = true): V1Deployment {
  return {
    metadata: { name: 'web', namespace: 'team', annotations, generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }], ...(sidecar ? { initContainers: [{ name: 'lull-sidecar', restartPolicy: 'Always' }] } : {}) },
      },
    },
    status: { readyReplicas: ready, replicas: ready, updatedReplicas: ready, observedGeneration: 1 },
  };
}

const injected = { 'lull.dev/enabled': 'true', 'lull.dev/injected': '0.1.0' };

describe('kubectl-style input and output', () => {
  it('names a Deployment as kubectl does', () => {
    expect(parseTarget('wake', ['deploy/web'])).toBe('web');
    expect(parseTarget('wake', ['deployment.apps/web'])).toBe('web');
    expect(parseTarget('wake', ['deployments', 'web'])).toBe('web');
    expect(() => parseTarget('wake', ['web'])).toThrow('"web" is not a Deployment reference; usage: lull wake deploy/NAME');
    expect(() => parseTarget('sleep', ['statefulset/db'])).toThrow('Lull manages Deployments, not "statefulset"');
    expect(() => parseTarget('sleep', [])).toThrow('lull sleep needs a Deployment');
    expect(() => parseTarget('sleep', ['deploy/Web'])).toThrow('"Web" is not a Deployment name');
  });

  it('lays out a table as kubectl does', () => {
    expect(formatTable(['NAME', 'STATE'], [['a-long-name', 'awake'], ['b', 'sleeping']])).toBe('NAME          STATE\na-long-name   awake\nb             sleeping\n');
  });

  it('reads ages as kubectl does and short spans to the millisecond', () => {
    expect([45_000, 312_000, 95 * 60_000, 220 * 60_000, 30 * 3_600_000, 5 * 86_400_000 + 3 * 3_600_000].map(humanDuration)).toEqual(['45s', '5m12s', '95m', '3h40m', '30h', '5d3h']);
    expect([850, 1234, 12_345].map(preciseDuration)).toEqual(['850ms', '1.2s', '12.3s']);
  });
});

describe('the kubeconfig', () => {
  const one = (cluster: string, context: string, current = '') => {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: cluster, server: `https://${cluster}` }], users: [{ name: 'u' }], contexts: [{ name: context, cluster, user: 'u' }], currentContext: current });
    return kc;
  };

  it('merges $KUBECONFIG files as kubectl does: the first to name anything wins', () => {
    const merged = mergeKubeconfigs([one('a', 'ctx-a'), one('a', 'ctx-b', 'ctx-b'), one('c', 'ctx-c', 'ctx-c')]);
    expect(merged.getCurrentContext()).toBe('ctx-b');
    expect(merged.clusters.map((c) => c.name)).toEqual(['a', 'c']);
    expect(merged.getCluster('a')?.server).toBe('https://a');
  });

  it('looks where kubectl looks', () => {
    expect(kubeconfigFiles({ kubeconfig: '/x' }, { KUBECONFIG: '/y' })).toEqual(['/x']);
    expect(kubeconfigFiles({}, { KUBECONFIG: '/y::/z' })).toEqual(['/y', '/z']);
    expect(kubeconfigFiles({}, {}, '/home/me')).toEqual(['/home/me/.kube/config']);
    expect(kubeconfigFiles({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, '/nonexistent')).toBeUndefined();
  });
});

describe('an app as lull status sees it', () => {
  it('is managed by the annotation or the namespace label, never in lull-system', () => {
    expect(isManaged(deployment({ 'lull.dev/enabled': 'true' }), {})).toBe(true);
    expect(isManaged(deployment({}), { 'lull.dev/inject': 'enabled' })).toBe(true);
    expect(isManaged(deployment({ 'lull.dev/enabled': 'false' }), { 'lull.dev/inject': 'enabled' })).toBe(false);
    expect(isManaged(deployment({}), undefined)).toBe(false);
    expect(notManagedReason('team', {}, {})).toBe('it has no lull.dev/enabled annotation and its namespace is not labelled lull.dev/inject=enabled');
    expect(notManagedReason('team', { 'lull.dev/enabled': 'false' }, {})).toBe('it has lull.dev/enabled=false');
  });

  it('reads the state as the reconciler does', () => {
    expect(displayState(deployment({ 'lull.dev/enabled': 'true' }, 1, 1, false))).toBe('onboarding');
    expect(displayState(deployment(injected))).toBe('onboarding');
    expect(displayState(deployment({ ...injected, 'lull.dev/state': 'awake' }))).toBe('awake');
    expect(displayState(deployment({ ...injected, 'lull.dev/state': 'sleeping' }, 0, 0))).toBe('sleeping');
    // Scaled up (by a request, `lull wake`, or a re-applied manifest) but not yet declared awake.
    expect(displayState(deployment({ ...injected, 'lull.dev/state': 'sleeping' }, 1, 0))).toBe('waking');
    expect(displayState(deployment({ ...injected, 'lull.dev/state': 'waking' }, 0, 0))).toBe('waking');
  });

  it('takes settings from the annotations, else the cluster defaults', () => {
    const defaults = clusterDefaultsFromConfigMap({ 'idle-after': '5m', 'wake-replicas': '2' }).settings;
    const view = appView(deployment({ ...injected, 'lull.dev/state': 'awake', 'lull.dev/hold-timeout': '30s' }), defaults);
    expect(view.settings).toEqual({ idleAfterMs: 300_000, wakeReplicas: 2, holdTimeoutMs: 30_000, maxHeld: 1000 });
    expect(view.annotated.idleAfter).toBe(false);
  });

  it('combines the sidecars: the latest activity on any pod, what is in flight on all', () => {
    const snap = (last: number, now: number, requestsInFlight: number) => ({ lastActivityAt: last, now, startedAt: 0, inFlight: requestsInFlight, requestsInFlight, connectionsInFlight: 0, requestsTotal: 1, connectionsTotal: 0, ready: true, draining: false });
    expect(combine([snap(1000, 5000, 0), snap(9000, 10_000, 2)], 3)).toEqual({ idleForMs: 1000, inFlight: 2, answered: 2, asked: 3 });
    expect(combine([], 1)).toBeUndefined();
  });

  it("finds the last wake's duration in the reconciler's Woke Events, as data", () => {
    const event = (durationMs: string | undefined, at: string): CoreV1Event => ({
      metadata: durationMs === undefined ? {} : { annotations: { 'lull.dev/wake-duration-ms': durationMs } },
      involvedObject: { kind: 'Deployment', namespace: 'team', name: 'web' },
      reason: 'Woke',
      message: 'Ready 1.2s after the wake began (the text is for people)',
      lastTimestamp: new Date(at),
    });
    expect(wokeDuration(event('850', '2026-01-01T00:00:10Z'))).toBe(850);
    expect(wokeDuration(event('soon', '2026-01-01T00:00:10Z'))).toBeUndefined();
    expect(wokeDuration(event(undefined, '2026-01-01T00:00:10Z'))).toBeUndefined();
    const wakes = lastWakes([event('2000', '2026-01-01T00:00:10Z'), event('900', '2026-01-01T00:05:00Z'), { ...event('5', '2026-01-01T00:09:00Z'), reason: 'Slept' }]);
    expect(wakes.get('team/web')).toEqual({ at: Date.parse('2026-01-01T00:05:00Z'), durationMs: 900 });
  });

  it('prints the table, and the whole item as JSON', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const view = appView(deployment({ ...injected, 'lull.dev/state': 'sleeping', 'lull.dev/slept-at': '2026-01-01T00:58:00Z', 'lull.dev/idle-after': '90s' }, 0, 0), DEFAULTS);
    const item = statusItem(view, undefined, { at: Date.parse('2026-01-01T00:30:00Z'), durationMs: 1200 }, now);
    expect(item).toMatchObject({ state: 'sleeping', replicas: 0, asleepForMs: 120_000, idleAfterFrom: 'annotation', lastWake: { durationMs: 1200 } });
    expect(formatStatus([item], 'table', false, now)).toBe(
      'NAME   STATE      REPLICAS   IDLE-AFTER   LAST-ACTIVITY   ASLEEP-FOR   LAST-WAKE\n' + 'web    sleeping   0/0        1m30s        >3m30s ago      2m           1.2s (30m ago)\n',
    );
    expect(formatStatus([item], 'wide', true, now).split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+STATE.*WAKE-REPLICAS\s+HOLD-TIMEOUT\s+MAX-HELD\s+SIDECAR\s+TARGET\s+OBSERVED\s+DESIRED$/);
    expect(JSON.parse(formatStatus([item], 'json', false, now))).toMatchObject({ kind: 'AppStatusList', items: [{ name: 'web', sleptAt: '2026-01-01T00:58:00.000Z' }] });
  });
});

describe('lull sleep', () => {
  it('withdraws its sleep request only if it is still the one it made', () => {
    expect(withdrawPatch('2026-01-01T00:00:00.000Z')).toEqual([
      { op: 'test', path: '/metadata/annotations/lull.dev~1sleep-requested-at', value: '2026-01-01T00:00:00.000Z' },
      { op: 'remove', path: '/metadata/annotations/lull.dev~1sleep-requested-at' },
    ]);
  });
});

describe('cluster-wide defaults', () => {
  it('follow the annotation rules, from the env in a part and from the ConfigMap in the CLI', () => {
    expect(clusterDefaultsFromEnv({ LULL_DEFAULT_IDLE_AFTER: '30m', LULL_DEFAULT_MAX_HELD: '50' }).settings).toEqual({ ...DEFAULTS, idleAfterMs: 1_800_000, maxHeld: 50 });
    const bad = clusterDefaultsFromConfigMap({ 'hold-timeout': '2 minutes' });
    expect(bad.settings.holdTimeoutMs).toBe(DEFAULTS.holdTimeoutMs);
    expect(bad.problems).toEqual([{ key: 'lull.dev/hold-timeout', value: '2 minutes', allowed: 'a duration such as 30s or 2m, from 1s to 10m (the longest Lull holds a connection)' }]);
    expect(clusterDefaultsFromConfigMap(undefined).settings).toEqual(DEFAULTS);
  });
});
