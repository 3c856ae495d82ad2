// Events Lull records on a Deployment (docs/design.md "The contract"): the reasons, and the Event object.
import { randomBytes } from 'node:crypto';

/** Reasons `kubectl describe` shows; every part records with these. */
export const EVENT_REASONS = {
  onboarded: 'Onboarded',
  slept: 'Slept',
  waking: 'Waking',
  woke: 'Woke',
  wakeFailed: 'WakeFailed',
  optedOut: 'OptedOut',
  waitingPageUnavailable: 'WaitingPageUnavailable',
} as const;

export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];

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
  /** Why, as data a program can read (core/v1 Event `action`): a Slept Event's `idle` or `schedule`. */
  action?: string;
  now?: Date;
}

/** Pure apart from the random name suffix: a core/v1 Event about a Deployment. */
export function buildEvent(input: EventInput) {
  const now = (input.now ?? new Date()).toISOString();
  const { target } = input;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
    involvedObject: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: target.namespace,
      name: target.name,
      ...(target.uid ? { uid: target.uid } : {}),
      ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
    },
    reason: input.reason,
    ...(input.action ? { action: input.action } : {}),
    // The apiserver refuses messages over 1 KiB.
    message: input.message.length > 1024 ? `${input.message.slice(0, 1021)}...` : input.message,
    type: input.type ?? 'Normal',
    source: { component: input.component },
    reportingComponent: `lull.dev/${input.component.replace(/^lull-/, '')}`,
    reportingInstance: input.instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
