// The texts a user reads: admission warnings and `lull status` reasons come from these.
import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appProblems, describeProblem, readinessProblem, routingProblems, unknownAnnotations, type ServiceFacts } from '../../../core/app-problems.ts';

const svc = (name: string, selector: Record<string, string> | undefined, extra: Partial<ServiceFacts> = {}): ServiceFacts => ({ name, selector, headless: false, externalName: false, ...extra });
const web = { name: 'web', podLabels: { app: 'web', tier: 'front' } };
const texts = (problems: ReturnType<typeof appProblems>) => problems.map(describeProblem);

describe('unknown lull.dev/ annotations', () => {
  it('names the key and the nearest known one', () => {
    expect(texts(unknownAnnotations({ 'lull.dev/idle-afer': '5m' }, true))).toEqual(['lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?']);
  });

  it('says a misspelt lull.dev/enabled is why an app Lull does not manage will not sleep', () => {
    expect(texts(unknownAnnotations({ 'lull.dev/enable': 'true' }, false))).toEqual([
      'will not sleep: lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?',
    ]);
  });

  it('lists what Lull reads when nothing is close, and knows the namespace label', () => {
    expect(texts(unknownAnnotations({ 'lull.dev/schedule': 'nightly' }, true))).toEqual([
      'lull.dev/schedule is not a Lull annotation and is ignored; Lull reads lull.dev/enabled, idle-after, wake-replicas, hold-timeout, max-held, awake-hours, outside-hours, wake-at-start, waiting-page, target-concurrency, target-rps, min-replicas, max-replicas, scale-down-delay, stable-window, auto-upgrade-sidecar',
    ]);
    expect(texts(unknownAnnotations({ 'lull.dev/inject': 'enabled' }, false))).toEqual([
      'will not sleep: lull.dev/inject is not a Lull annotation and is ignored; label the namespace with it, or use lull.dev/enabled',
    ]);
  });

  it('leaves known keys, Lull-written keys and other prefixes alone', () => {
    expect(unknownAnnotations({ 'lull.dev/enabled': 'true', 'lull.dev/state': 'awake', 'lull.dev/touched-at': 'x', 'example.com/idle-afer': '1', 'lull.dev.other/x': 'y' }, true)).toEqual([]);
  });
});

describe('routing problems', () => {
  it('an app no Service selects cannot be woken by a request', () => {
    expect(texts(routingProblems('web', web.podLabels, [svc('other', { app: 'other' }), svc('ext', { app: 'web' }, { externalName: true })], [web]))).toEqual([
      'will not sleep: no Service selects it, so no request could wake it',
    ]);
  });

  it('a headless Service and a Service shared with other Deployments are named', () => {
    const api = { name: 'api', podLabels: { app: 'api', tier: 'front' } };
    const problems = routingProblems('web', web.podLabels, [svc('web', { app: 'web' }, { headless: true }), svc('front', { tier: 'front' })], [web, api]);
    expect(problems.map((p) => p.code)).toEqual(['LULL_HEADLESS_SERVICE', 'LULL_SHARED_SERVICE']);
    expect(texts(problems)).toEqual([
      'will not sleep: Service web is headless: its clients would bypass the interceptor that wakes it',
      'will not sleep: Service front also selects other Deployments (api), which still need its traffic',
    ]);
  });

  it('a Service of its own is fine', () => {
    expect(routingProblems('web', web.podLabels, [svc('web', { app: 'web' })], [web, { name: 'api', podLabels: { app: 'api' } }])).toEqual([]);
  });
});

describe('idle-after against the readiness probe', () => {
  const spec = (probe: object): V1PodSpec => ({ containers: [{ name: 'app', ports: [{ containerPort: 8080 }], readinessProbe: probe }] });
  it('warns when the app would be idle before the kubelet can call it ready', () => {
    const p = readinessProblem(5_000, spec({ httpGet: { path: '/', port: 8080 }, initialDelaySeconds: 20, periodSeconds: 10 }));
    expect(p && describeProblem(p)).toBe('will not stay awake: idle-after 5s is shorter than the 30s its readiness probe may take to pass');
    // Kubernetes' default period is 10 s.
    expect(readinessProblem(5_000, spec({ tcpSocket: { port: 8080 } }))?.code).toBe('LULL_IDLE_AFTER_BELOW_READINESS');
  });
  it('is quiet for a fast probe, no probe, or a probe on a container that takes no requests', () => {
    expect(readinessProblem(5_000, spec({ httpGet: { path: '/', port: 8080 }, periodSeconds: 1 }))).toBeUndefined();
    expect(readinessProblem(5_000, { containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] })).toBeUndefined();
    expect(readinessProblem(5_000, { containers: [{ name: 'worker', readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 60 } }] })).toBeUndefined();
  });
});

describe('appProblems', () => {
  it('judges only the annotations of an app Lull does not manage', () => {
    const problems = appProblems({ name: 'web', annotations: { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' }, managed: false, idleAfterMs: 1000, podLabels: web.podLabels, podSpec: undefined, services: [], deployments: [web] });
    expect(problems.map((p) => [p.code, p.effect])).toEqual([
      ['LULL_UNKNOWN_ANNOTATION', 'will not sleep'],
      ['LULL_UNKNOWN_ANNOTATION', 'ignored'],
    ]);
  });
  it('skips routing while the Services are not known', () => {
    expect(appProblems({ name: 'web', annotations: {}, managed: true, idleAfterMs: 60_000, podLabels: web.podLabels, podSpec: undefined, services: undefined, deployments: undefined })).toEqual([]);
  });
});

describe('schedule settings without awake-hours', () => {
  it('says outside-hours and wake-at-start do nothing alone', () => {
    const facts = { name: 'web', managed: true, idleAfterMs: 900_000, podLabels: {}, podSpec: undefined, services: undefined, deployments: undefined };
    expect(appProblems({ ...facts, annotations: { 'lull.dev/outside-hours': 'refuse', 'lull.dev/wake-at-start': 'true' } }).map((p) => `${p.code} ${describeProblem(p)}`)).toEqual([
      'LULL_SCHEDULE_WITHOUT_HOURS lull.dev/outside-hours has no effect without lull.dev/awake-hours',
      'LULL_SCHEDULE_WITHOUT_HOURS lull.dev/wake-at-start has no effect without lull.dev/awake-hours',
    ]);
    expect(appProblems({ ...facts, annotations: { 'lull.dev/awake-hours': 'Mon 08:00-09:00 UTC', 'lull.dev/wake-at-start': 'true' } })).toEqual([]);
  });
});
