import { describe, expect, it } from 'vitest';
import type { V1Deployment } from '@kubernetes/client-node';
import { combine } from '../../../cli/activity.ts';
import { autoscaleStatus, hpaOf } from '../../../cli/autoscale.ts';
import { formatStatus, type StatusItem } from '../../../cli/status-report.ts';

const deployment = (annotations: Record<string, string>): V1Deployment => ({ metadata: { name: 'web', namespace: 'shop', annotations } });
const snap = (concurrency: number) => ({ lastActivityAt: 1, now: 2, startedAt: 0, inFlight: 0, requestsInFlight: 0, connectionsInFlight: 0, requestsTotal: 1, connectionsTotal: 0, ready: true, draining: false, load: { concurrency, rps: concurrency * 5, windowMs: 1000, at: 2 } });

describe('lull status and request-based scaling', () => {
  it('sums the sidecars\' last second and says what it calls for within min-max', () => {
    const activity = combine([snap(20), snap(23)], 2);
    expect(activity?.load).toEqual({ concurrency: 43, rps: 215 });
    expect(autoscaleStatus(deployment({ 'lull.dev/target-concurrency': '5', 'lull.dev/max-replicas': '8' }), activity, undefined)).toEqual({ metric: 'concurrency', target: 5, minReplicas: 0, maxReplicas: 8, observed: 43, desired: 8 });
    expect(autoscaleStatus(deployment({}), activity, undefined)).toBeUndefined();
  });

  it('shows target, observed and desired with -o wide, or the HPA that scales the app instead', () => {
    const hpas = [{ metadata: { name: 'web-cpu', namespace: 'shop' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' } } }];
    const d = deployment({ 'lull.dev/target-concurrency': '5' });
    expect(hpaOf(d, hpas)).toBe('web-cpu');
    const base: StatusItem = { namespace: 'shop', name: 'web', state: 'awake', replicas: 10, readyReplicas: 10, idleAfterMs: 60_000, idleAfterFrom: 'annotation', wakeReplicas: 1, holdTimeoutMs: 120_000, maxHeld: 1000 };
    const lines = formatStatus([{ ...base, autoscale: autoscaleStatus(d, combine([snap(49.5)], 1), undefined)! }], 'wide', false, 0).split('\n');
    expect(lines[0]).toMatch(/TARGET\s+OBSERVED\s+DESIRED$/);
    expect(lines[1]).toMatch(/5 in flight\s+49.5\s+10 \(0-100\)$/);
    const yielded = formatStatus([{ ...base, autoscale: autoscaleStatus(d, undefined, 'web-cpu')! }], 'wide', false, 0).split('\n');
    expect(yielded[1]).toMatch(/5 in flight\s+-\s+HPA web-cpu$/);
    expect(formatStatus([base], 'table', false, 0)).not.toMatch(/TARGET/);
  });
});
