// Pod status from what the kubelet knows of its containers: a pure function, so it can be tested alone.
import type { V1ContainerState, V1ContainerStateTerminated, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export type ContainerKind = 'init' | 'sidecar' | 'regular';

export interface ContainerRecord {
  name: string;
  image: string;
  kind: ContainerKind;
  state: V1ContainerState;
  lastTerminated?: V1ContainerStateTerminated;
  restartCount: number;
  ready: boolean;
  started: boolean;
  containerID?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface PodStatusInput {
  phase: PodPhase;
  podIP?: string;
  hostIP: string;
  startTime: Date;
  sandboxReady: boolean;
  containers: readonly ContainerRecord[];
  previous?: V1PodStatus;
  now: Date;
  reason?: string;
  message?: string;
}

function condition(type: string, ok: boolean, previous: V1PodStatus | undefined, now: Date, reason?: string): V1PodCondition {
  const status = ok ? 'True' : 'False';
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(ok || reason === undefined ? {} : { reason }) };
}

function containerStatus(c: ContainerRecord): V1ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: `lull-process://${c.image}`,
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    ...(c.containerID ? { containerID: c.containerID } : {}),
  };
}

export function buildPodStatus(input: PodStatusInput): V1PodStatus {
  const { containers, previous, now } = input;
  const inits = containers.filter((c) => c.kind !== 'regular');
  const regular = containers.filter((c) => c.kind === 'regular');
  const sidecars = containers.filter((c) => c.kind === 'sidecar');
  const initialized = inits.every((c) => (c.kind === 'sidecar' ? c.started : c.state.terminated?.exitCode === 0));
  const containersReady = initialized && regular.every((c) => c.ready) && sidecars.every((c) => c.ready);
  const ended = input.phase === 'Succeeded' || input.phase === 'Failed';
  const conditions = [
    condition('PodReadyToStartContainers', input.sandboxReady, previous, now),
    condition('Initialized', initialized, previous, now, 'ContainersNotInitialized'),
    condition('Ready', containersReady && !ended, previous, now, ended ? 'PodCompleted' : 'ContainersNotReady'),
    condition('ContainersReady', containersReady && !ended, previous, now, ended ? 'PodCompleted' : 'ContainersNotReady'),
    condition('PodScheduled', true, previous, now),
  ];
  const status: V1PodStatus = {
    phase: input.phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    qosClass: previous?.qosClass ?? 'BestEffort',
    initContainerStatuses: inits.map(containerStatus),
    containerStatuses: regular.map(containerStatus),
  };
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (input.reason) status.reason = input.reason;
  if (input.message) status.message = input.message;
  return status;
}

/** The phase a pod is in once its regular containers are all terminated and will not restart. */
export function finalPhase(containers: readonly ContainerRecord[]): PodPhase {
  return containers.filter((c) => c.kind === 'regular').every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
}

export function waitingRecord(kind: ContainerKind, name: string, image: string, reason = 'PodInitializing'): ContainerRecord {
  return { name, image, kind, state: { waiting: { reason } }, restartCount: 0, ready: false, started: false };
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
