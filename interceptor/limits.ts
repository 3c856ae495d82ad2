// What bounds holding: per app `lull.dev/max-held` and `lull.dev/hold-timeout`, a share per namespace
// so one tenant cannot fill the interceptor for the others, and one cap for the whole interceptor so
// memory stays bounded however many apps wake at once. Pure decisions only.

export interface HoldSettings {
  maxHeld: number;
  holdTimeoutMs: number;
}

/** This interceptor's own caps (flags), over every app. */
export interface HoldCaps {
  maxTotal: number;
  maxPerNamespace: number;
}

/** The limit a refused connection hit, most specific first: its app's, its namespace's, the interceptor's. */
export type Admission = 'hold' | 'app-full' | 'namespace-full' | 'interceptor-full';

/**
 * Whether one more connection may be held. An app's max-held is at most MAX_HELD_LIMIT (the annotation's
 * rule); whatever it asks, its namespace's share and the interceptor's cap bind first when smaller.
 */
export function admit(appHeld: number, settings: HoldSettings, namespaceHeld: number, totalHeld: number, caps: HoldCaps): Admission {
  if (appHeld >= settings.maxHeld) return 'app-full';
  if (namespaceHeld >= caps.maxPerNamespace) return 'namespace-full';
  if (totalHeld >= caps.maxTotal) return 'interceptor-full';
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

/** Pure: `--max-held-per-namespace` as a count, from "<n>" or "<p>%" of the interceptor's cap (at least 1). */
export function namespaceShare(value: string, maxTotal: number): number | undefined {
  const percent = /^(\d{1,3})%$/.exec(value);
  if (percent) {
    const p = Number(percent[1]);
    return p >= 1 && p <= 100 ? Math.max(1, Math.floor((maxTotal * p) / 100)) : undefined;
  }
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= maxTotal ? n : undefined;
}
