// The last wake of each app, from the Events Lull recorded: the reconciler's Woke says how long it took.
import type { CoreV1Event } from '@kubernetes/client-node';
import { EVENT_REASONS } from '../core/events.ts';

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

// reconciler/wake.ts writes "Ready 850ms after the wake began (...)" or "Ready 1.2s after ...".
const READY = /^Ready (\d+(?:\.\d+)?)(ms|s) after the wake began/;

/** Pure: the duration a Woke message states, in ms. */
export function wokeDuration(message: string | undefined): number | undefined {
  const match = READY.exec(message ?? '');
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

/** Pure: the latest Woke of each Deployment ("namespace/name" keys). */
export function lastWakes(events: readonly CoreV1Event[]): Map<string, LastWake> {
  const out = new Map<string, LastWake>();
  for (const event of events) {
    if (event.reason !== EVENT_REASONS.woke || event.involvedObject?.kind !== 'Deployment') continue;
    const key = `${event.involvedObject.namespace ?? event.metadata?.namespace}/${event.involvedObject.name}`;
    const at = eventTime(event);
    if ((out.get(key)?.at ?? -1) >= at) continue;
    const durationMs = wokeDuration(event.message);
    out.set(key, durationMs === undefined ? { at } : { at, durationMs });
  }
  return out;
}
