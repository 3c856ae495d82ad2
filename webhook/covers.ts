// Equality up to fields the apiserver adds: what Lull built is unchanged if the stored copy covers it.

/** True when every field of `wanted` is in `actual` with an equal value (arrays element by element). */
export function covers(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return Array.isArray(actual) && actual.length === wanted.length && wanted.every((item, i) => covers(actual[i], item));
  }
  if (typeof wanted === 'object' && wanted !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(wanted).every(([key, value]) => value === undefined || covers(record[key], value));
  }
  return actual === wanted;
}
