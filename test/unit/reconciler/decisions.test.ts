// The small pure decisions: phases, sidecar routing, sleep blockers, touch backoff, label selectors.
import { describe, expect, it } from 'vitest';
import { phaseOf, stateOf, wakeReplicas } from '../../../reconciler/app.ts';
import { parseSelector, requirementsMatch, selectorMatches } from '../../../reconciler/labels.ts';
import type { DeploymentObj, ServiceObj } from '../../../core/objects.ts';
import { sidecarRouted, sidecarRoutingPending } from '../../../reconciler/onboard.ts';
import { sleepBlocker } from '../../../reconciler/sleep.ts';
import { nextTouchAt, touchDue } from '../../../reconciler/touch.ts';
import { DEFAULTS } from '../../../core/annotations.ts';

function deployment(annotations: Record<string, string> = {}, extra: Partial<DeploymentObj> = {}): DeploymentObj {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '1', annotations },
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    podLabels: { app: 'web', tier: 'front' },
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

function service(targetPort: number | string | undefined, name = 'web'): ServiceObj {
  return { metadata: { name, namespace: 'shop', uid: 's', resourceVersion: '1' }, selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(targetPort !== undefined ? { targetPort } : {}) }] };
}

describe('phaseOf', () => {
  it('reads the state Lull wrote together with the replicas', () => {
    expect(phaseOf(deployment())).toBe('awake');
    expect(phaseOf(deployment({ 'lull.dev/state': 'awake' }))).toBe('awake');
    expect(phaseOf(deployment({ 'lull.dev/state': 'sleeping' }, { replicas: 0 }))).toBe('asleep');
    // A user (or GitOps) scaled a sleeping app: obeyed, and it is waking.
    expect(phaseOf(deployment({ 'lull.dev/state': 'sleeping' }, { replicas: 3 }))).toBe('waking');
    expect(phaseOf(deployment({ 'lull.dev/state': 'waking' }, { replicas: 0 }))).toBe('wake-pending');
    expect(phaseOf(deployment({ 'lull.dev/state': 'waking' }, { replicas: 1 }))).toBe('waking');
    expect(stateOf(deployment({ 'lull.dev/state': 'dozing' }))).toBeUndefined();
  });

  it('wakes to the remembered count, else wake-replicas', () => {
    expect(wakeReplicas(deployment({ 'lull.dev/replicas-before-sleep': '4' }), DEFAULTS)).toBe(4);
    expect(wakeReplicas(deployment({ 'lull.dev/replicas-before-sleep': 'x' }), { ...DEFAULTS, wakeReplicas: 2 })).toBe(2);
  });
});

describe('sidecar routing of Services', () => {
  it('is pending once the Deployment rolled out with the sidecar and a port still targets the app', () => {
    expect(sidecarRoutingPending(service('http'), [deployment()])).toBe(true);
    expect(sidecarRoutingPending(service(8080), [deployment()])).toBe(true);
    expect(sidecarRoutingPending(service(undefined), [deployment()])).toBe(false); // port 80: nothing fronted there
    expect(sidecarRoutingPending(service('lull-8080'), [deployment()])).toBe(false);
    expect(sidecarRoutingPending(service('http'), [deployment({}, { rolledOut: false })])).toBe(false);
    expect(sidecarRoutingPending(service('http'), [deployment(), deployment({}, { injected: false })])).toBe(false);
  });

  it('knows a Service that reaches the app through the sidecar', () => {
    expect(sidecarRouted(service('lull-8080'))).toBe(true);
    expect(sidecarRouted(service('http'))).toBe(false);
  });
});

describe('sleepBlocker', () => {
  const one = () => [deployment()];
  it('needs a Service of its own, reaching it through the sidecar, and a ready interceptor', () => {
    expect(sleepBlocker([], one, 1)).toContain('no Service selects it');
    expect(sleepBlocker([service('lull-8080')], () => [deployment(), deployment()], 1)).toContain('also selects other Deployments');
    expect(sleepBlocker([service('http')], one, 1)).toContain('does not reach it through the sidecar');
    expect(sleepBlocker([service('lull-8080')], one, 0)).toContain('no interceptor pod is ready');
    expect(sleepBlocker([service('lull-8080')], one, 2)).toBeUndefined();
  });

  it('says which Service keeps it awake, in the words the webhook warned with', () => {
    const api = deployment({}, { metadata: { name: 'api', namespace: 'shop', uid: 'a', resourceVersion: '1' } });
    expect(sleepBlocker([service('lull-8080')], () => [deployment(), api], 1, 'web')).toBe('Service web also selects other Deployments (api), which still need its traffic');
    expect(sleepBlocker([{ ...service('lull-8080'), headless: true }], one, 1, 'web')).toBe('Service web is headless: its clients would bypass the interceptor that wakes it');
  });
});

describe('touch backoff', () => {
  it('touches at once, then after 1 s, 2 s, 4 s ... up to 5 minutes', () => {
    expect(touchDue(undefined, undefined, 1000)).toEqual({ due: true, at: 1000 });
    expect([1, 2, 3, 20].map((n) => nextTouchAt(n, 0))).toEqual([1000, 2000, 4000, 300_000]);
    expect(touchDue({ attempts: 1, nextAt: 2000 }, undefined, 1500)).toEqual({ due: false, at: 2000 });
    expect(touchDue({ attempts: 1, nextAt: 2000 }, undefined, 2000).due).toBe(true);
  });

  it('respects a touch a previous leader made a moment ago', () => {
    const t = Date.parse('2024-01-01T00:00:00.000Z');
    expect(touchDue(undefined, '2024-01-01T00:00:00.000Z', t + 300)).toEqual({ due: false, at: t + 1000 });
    expect(touchDue(undefined, '2024-01-01T00:00:00.000Z', t + 5000).due).toBe(true);
    expect(touchDue(undefined, 'not a time', t).due).toBe(true);
  });
});

describe('label selectors', () => {
  it('matches a Deployment selector with labels and expressions; an empty one matches nothing', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels)).toBe(false);
    expect(selectorMatches({}, labels)).toBe(false);
  });

  it('parses the equality-based --namespace-selector', () => {
    const r = parseSelector('team=a, env!=prod,managed,!legacy')!;
    expect(requirementsMatch(r, { team: 'a', managed: '' })).toBe(true);
    expect(requirementsMatch(r, { team: 'a', managed: '', env: 'prod' })).toBe(false);
    expect(requirementsMatch(r, { team: 'a', managed: '', legacy: 'y' })).toBe(false);
    expect(parseSelector('a in (b)')).toBeUndefined();
    expect(parseSelector('')).toBeUndefined();
  });
});
