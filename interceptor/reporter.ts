// The Events this interceptor records about one app: Waking when its scale went out, WakeFailed when it
// cannot come up or its hold timed out (only the interceptor records WakeFailed: docs/design.md "Wake"),
// WaitingPageUnavailable when the app's custom waiting page cannot be used.
import { createHash } from 'node:crypto';
import type { CoreV1Event, V1Deployment } from '@kubernetes/client-node';
import { SLEPT_AT } from '../core/annotations.ts';
import { EVENT_REASONS, eventRecorder, type EventReason } from '../core/events.ts';
import type { Logger } from '../core/log.ts';
import type { ClusterApi } from './kube.ts';

export interface ReporterContext {
  cluster: Pick<ClusterApi, 'record'>;
  /** Who records Events: component and instance (the pod name). */
  source: { component: string; instance: string };
  log: Logger;
}

export interface Reporter {
  /** `requested`: when the scale was asked for; from then on, the time is the control plane's. */
  waking(replicas: number, ms: number, requested: Date): void;
  wakeFailed(message: string): void;
  /** The app names a custom waiting page that cannot be used. */
  waitingPageUnavailable(message: string): void;
}

/** `deployment()`: the app's Deployment as last seen (for its uid and the sleep the Event belongs to). */
export function reporter(namespace: string, name: string, ctx: ReporterContext, deployment: () => V1Deployment | undefined): Reporter {
  const recordEvent = eventRecorder((_namespace, event) => ctx.cluster.record(event as unknown as CoreV1Event), ctx.source, ctx.log);
  const record = (reason: EventReason, message: string, now = new Date()): void => {
    const seen = deployment();
    const uid = seen?.metadata?.uid;
    // Every replica holding for the app sees the failure: one name per sleep, so only the first is recorded.
    const slept = seen?.metadata?.annotations?.[SLEPT_AT];
    const once = reason === EVENT_REASONS.wakeFailed && slept !== undefined ? `${name}.wakefailed-${createHash('sha256').update(`${uid}/${slept}`).digest('hex').slice(0, 12)}` : undefined;
    const warning = reason === EVENT_REASONS.wakeFailed || reason === EVENT_REASONS.waitingPageUnavailable;
    void recordEvent({ namespace, name, ...(uid ? { uid } : {}) }, reason, message, warning ? 'Warning' : 'Normal', { now, ...(once ? { name: once } : {}) });
  };
  return {
    waking: (replicas, ms, requested) => record(EVENT_REASONS.waking, `Scaled from 0 to ${replicas} for a held connection (the apiserver took ${ms} ms)`, requested),
    wakeFailed: (message) => record(EVENT_REASONS.wakeFailed, message),
    waitingPageUnavailable: (message) => record(EVENT_REASONS.waitingPageUnavailable, message),
  };
}
