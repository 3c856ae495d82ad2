// `lull sleep` as a request in the contract: a user (through the CLI) sets lull.dev/sleep-requested-at on
// a Deployment; the reconciler then puts the app to sleep as soon as nothing is in flight and nothing
// arrived for a second, exactly as an idle sleep, and clears the request in the write that says sleeping.
import { SLEEP_REQUESTED_AT, type AppSettings } from './annotations.ts';

/** How long quiet must last before a requested sleep: the shortest idle-after the annotation rules allow. */
export const SLEEP_REQUEST_IDLE_MS = 1000;

/** What the annotation takes: the time of the request. */
export const SLEEP_REQUEST_ALLOWED = 'a time such as 2026-01-01T00:00:00Z (lull sleep sets it to now)';

/** Pure: the request's value is a time. */
export function isSleepRequestValue(value: string): boolean {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Pure: a sleep has been asked for. */
export function sleepRequested(annotations: Record<string, string> | undefined): boolean {
  const value = annotations?.[SLEEP_REQUESTED_AT];
  return value !== undefined && isSleepRequestValue(value);
}

/** Pure: the settings the reconciler decides by: a requested sleep wants only a second of quiet. */
export function withSleepRequest(settings: AppSettings, annotations: Record<string, string> | undefined): AppSettings {
  return sleepRequested(annotations) ? { ...settings, idleAfterMs: Math.min(settings.idleAfterMs, SLEEP_REQUEST_IDLE_MS) } : settings;
}
