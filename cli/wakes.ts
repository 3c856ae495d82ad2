// The last wake of each app, from the Events Lull recorded: the reconciler's Woke carries how long it took
// (WAKE_DURATION_MS), as data.
import type { CoreV1Event } from '@kubernetes/client-node';
import { EVENT_REASONS, WAKE_DURATION_MS } from '../core/events.ts';

export interface LastWake {
  /** When the app was declared awake (epoch ms). */
  at: number;
  /** From the wake's start to the app's own endpoints being ready, when the Event says. */
  durationMs?: number;
}

/** The Event's best time: eventTime (microseconds), else lastTimestamp, else its creation. */
export function eventTime(event: CoreV1Event): number {
  const value = event.eventTime ?? event.lastTimestamp ?? event.firstTimestamp ?? event.metadata?.creationTimestamp;
  return value === undefined ? 0 : new Date(value as unknown as string).getTime();
}

/** Pure: the duration a Woke Event records, in ms. */
export function wokeDuration(event: CoreV1Event): number | undefined {
  const value = event.metadata?.annotations?.[WAKE_DURATION_MS];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Pure: the latest Woke of each Deployment ("namespace/name" keys). */
export function lastWakes(events: readonly CoreV1Event[]): Map<string, LastWake> {
  const out = new Map<string, LastWake>();
  for (const event of events) {
    if (event.reason !== EVENT_REASONS.woke || event.involvedObject?.kind !== 'Deployment') continue;
    const key = `${event.involvedObject.namespace ?? event.metadata?.namespace}/${event.involvedObject.name}`;
    const at = eventTime(event);
    if ((out.get(key)?.at ?? -1) >= at) continue;
    const durationMs = wokeDuration(event);
    out.set(key, durationMs === undefined ? { at } : { at, durationMs });
  }
  return out;
}
