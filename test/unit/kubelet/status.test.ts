import { describe, expect, it } from 'vitest';
import { buildPodStatus, finalPhase, type ContainerRecord } from '../../cluster/kubelet/status.ts';

const now = new Date('2026-11-21T10:00:00Z');
const later = new Date('2026-11-21T10:05:00Z');
const running = (name: string, kind: ContainerRecord['kind'], ready: boolean): ContainerRecord => ({
  name, image: 'img', kind, state: { running: { startedAt: now } }, restartCount: 0, ready, started: true,
});

describe('pod status', () => {
  it('is Ready only when the app containers and the native sidecars are ready', () => {
    const input = { phase: 'Running' as const, podIP: '10.213.0.5', hostIP: '10.213.0.1', startTime: now, sandboxReady: true, now };
    const notReady = buildPodStatus({ ...input, containers: [running('lull-sidecar', 'sidecar', false), running('app', 'regular', true)] });
    expect(notReady.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(notReady.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    expect(notReady.initContainerStatuses?.map((c) => c.name)).toEqual(['lull-sidecar']);
    expect(notReady.containerStatuses?.map((c) => c.name)).toEqual(['app']);
    expect(notReady.podIP).toBe('10.213.0.5');

    const ready = buildPodStatus({ ...input, now: later, previous: notReady, containers: [running('lull-sidecar', 'sidecar', true), running('app', 'regular', true)] });
    const readyCondition = ready.conditions?.find((c) => c.type === 'Ready');
    expect(readyCondition?.status).toBe('True');
    expect(readyCondition?.lastTransitionTime).toBe(later);
    // Unchanged conditions keep their transition time.
    expect(ready.conditions?.find((c) => c.type === 'Initialized')?.lastTransitionTime).toBe(now);
  });

  it('is not Initialized while an init container has not completed', () => {
    const status = buildPodStatus({
      phase: 'Pending', hostIP: '10.213.0.1', startTime: now, sandboxReady: true, now,
      containers: [{ name: 'migrate', image: 'img', kind: 'init', state: { running: { startedAt: now } }, restartCount: 0, ready: false, started: true }, { ...running('app', 'regular', false), state: { waiting: { reason: 'PodInitializing' } } }],
    });
    expect(status.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
  });

  it('ends Succeeded only when every app container exited 0', () => {
    const done = (code: number): ContainerRecord => ({ name: `c${code}`, image: 'i', kind: 'regular', state: { terminated: { exitCode: code } }, restartCount: 0, ready: false, started: false });
    expect(finalPhase([done(0), done(0)])).toBe('Succeeded');
    expect(finalPhase([done(0), done(1)])).toBe('Failed');
  });
});
