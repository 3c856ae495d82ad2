// What bounds holding: per app `lull.dev/max-held` and `lull.dev/hold-timeout`, and one cap for the
// whole interceptor so memory stays bounded however many apps wake at once. Pure decisions only.

export interface HoldSettings {
  maxHeld: number;
  holdTimeoutMs: number;
}

export type Admission = 'hold' | 'app-full' | 'interceptor-full';

/** Whether one more connection may be held. */
export function admit(appHeld: number, settings: HoldSettings, totalHeld: number, maxTotal: number): Admission {
  if (totalHeld >= maxTotal) return 'interceptor-full';
  if (appHeld >= settings.maxHeld) return 'app-full';
  return 'hold';
}

/** When a connection that arrived at `arrivedAt` must be answered if the app is still not ready. */
export function holdDeadline(arrivedAt: number, settings: HoldSettings): number {
  return arrivedAt + settings.holdTimeoutMs;
}

/** How many of `held` connections are over the cap (the newest are refused). */
export function overCap(held: number, settings: HoldSettings): number {
  return Math.max(0, held - settings.maxHeld);
}
