// Events Lull records on a Deployment (docs/design.md "The contract"): the reasons, the Event object,
// and the one recorder every part uses.
import { randomBytes } from 'node:crypto';
import { isStatus, type KubeClient } from './kube-client.ts';
import type { Logger } from './log.ts';
import { microTime } from './micro-time.ts';

/** Reasons `kubectl describe` shows; every part records with these. */
export const EVENT_REASONS = {
  onboarded: 'Onboarded',
  slept: 'Slept',
  waking: 'Waking',
  woke: 'Woke',
  wakeFailed: 'WakeFailed',
  optedOut: 'OptedOut',
  waitingPageUnavailable: 'WaitingPageUnavailable',
  scaledUp: 'ScaledUp',
  scaledDown: 'ScaledDown',
  /** Request-based scaling stands aside: an HPA scales the same Deployment. */
  autoscaleYielded: 'AutoscaleYielded',
} as const;

export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];

/** On a Woke Event: milliseconds from the wake's start to the app serving directly (`lull status` reads it). */
export const WAKE_DURATION_MS = 'lull.dev/wake-duration-ms';

export interface EventTarget {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  target: EventTarget;
  reason: EventReason;
  message: string;
  type?: 'Normal' | 'Warning';
  /** e.g. "lull-reconciler". */
  component: string;
  /** The pod or host that records it. */
  instance: string;
  /** Why, as data a program can read (core/v1 Event `action`): a Slept Event's `idle` or `schedule`; else the reason. */
  action?: string;
  now?: Date;
  /** Data for programs (WAKE_DURATION_MS); the message is for people. */
  annotations?: Record<string, string>;
  /** A fixed name, so that of several recorders of one occurrence the first wins (the rest get 409). */
  name?: string;
}

/** Pure apart from the random name suffix: a core/v1 Event about a Deployment. */
export function buildEvent(input: EventInput) {
  const date = input.now ?? new Date();
  const now = date.toISOString();
  const { target } = input;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: input.name ?? `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace, ...(input.annotations ? { annotations: input.annotations } : {}) },
    involvedObject: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: target.namespace,
      name: target.name,
      ...(target.uid ? { uid: target.uid } : {}),
      ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
    },
    reason: input.reason,
    // The apiserver refuses messages over 1 KiB.
    message: input.message.length > 1024 ? `${input.message.slice(0, 1021)}...` : input.message,
    type: input.type ?? 'Normal',
    source: { component: input.component },
    reportingComponent: `lull.dev/${input.component.replace(/^lull-/, '')}`,
    reportingInstance: input.instance,
    firstTimestamp: now,
    lastTimestamp: now,
    // Microseconds, besides the legacy whole seconds: Lull's steps can be ordered and timed from Events.
    eventTime: microTime(date),
    action: input.action ?? input.reason,
    count: 1,
  };
}

export type LullEvent = ReturnType<typeof buildEvent>;

/** Settles once the Event is written or given up on (callers that must not exit before it await it). */
export type RecordEvent = (target: EventTarget, reason: EventReason, message: string, type?: 'Normal' | 'Warning', extra?: Pick<EventInput, 'action' | 'annotations' | 'name' | 'now'>) => Promise<void>;

/** The POST an Event recorder sends through `client`. */
export const postEvent = (client: KubeClient) => (namespace: string, event: LullEvent) => client.request('POST', `/api/v1/namespaces/${namespace}/events`, { body: event });

/**
 * Records Events through `post` (a POST to the target's namespace); one that cannot be written is logged,
 * never retried or fatal. A 409 is another recorder of the same fixed name having won: said nothing of.
 */
export function eventRecorder(post: (namespace: string, event: LullEvent) => Promise<unknown>, source: { component: string; instance: string }, logger?: Logger): RecordEvent {
  return async (target, reason, message, type = 'Normal', extra = {}) => {
    const event = buildEvent({ target, reason, message, type, ...source, ...extra });
    logger?.info({ namespace: target.namespace, deployment: target.name, reason, ...(extra.action ? { action: extra.action } : {}) }, message);
    await post(target.namespace, event).then(
      () => undefined,
      (err: unknown) => {
        if (!isStatus(err, 409)) logger?.warn({ namespace: target.namespace, deployment: target.name, reason, err: (err as Error).message }, 'could not record an Event');
      },
    );
  };
}

