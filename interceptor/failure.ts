// Whether a waking app cannot come up (bad command, crash loop, missing config), read from its pods'
// status, so held connections are answered now rather than at the hold timeout. Pure.
import type { V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';

/** Waiting reasons that do not clear by themselves (the kubelet's and the container runtime's). */
const STUCK_WAITING = new Set([
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'StartError',
]);

/** Terminations that mean the process could not even be started. */
const START_FAILED = new Set(['StartError', 'ContainerCannotRun']);

function lastExit(status: V1ContainerStatus): string {
  const t = status.lastState?.terminated ?? status.state?.terminated;
  if (t === undefined) return '';
  const detail = [`exit code ${t.exitCode}`, t.reason, t.message?.trim()].filter(Boolean).join(', ');
  return ` (last exit: ${detail})`;
}

/** Why one pod cannot run, or undefined while it may still come up. */
export function podFailure(pod: V1Pod): string | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const name = pod.metadata?.name ?? '?';
  if (pod.status?.phase === 'Failed') return `pod ${name} failed${pod.status.reason ? `: ${pod.status.reason}` : ''}${pod.status.message ? `: ${pod.status.message}` : ''}`;
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason !== undefined && STUCK_WAITING.has(waiting.reason)) {
      return `pod ${name}, container ${status.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}${lastExit(status)}`;
    }
    const terminated = status.state?.terminated;
    if (terminated?.reason !== undefined && START_FAILED.has(terminated.reason)) {
      return `pod ${name}, container ${status.name}: ${terminated.reason}${terminated.message ? `: ${terminated.message.trim()}` : ''}`;
    }
  }
  return undefined;
}

/** Why the app cannot come up: the Deployment cannot make pods, or every pod it made is stuck. */
export function wakeFailure(pods: readonly V1Pod[], deployment: V1Deployment | undefined): string | undefined {
  const replicaFailure = deployment?.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (replicaFailure !== undefined) return `cannot create pods: ${replicaFailure.message ?? replicaFailure.reason ?? 'ReplicaFailure'}`;
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (live.length === 0) return undefined;
  let first: string | undefined;
  for (const pod of live) {
    const failure = podFailure(pod);
    if (failure === undefined) return undefined;
    first ??= failure;
  }
  return first;
}
