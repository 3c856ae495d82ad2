// terminationGracePeriodSeconds must hold the drain plus the app's own shutdown; what Lull replaced is recorded.
import { SIDECAR_DRAIN_MAX_MS } from '../core/sidecar-contract.ts';

/** Time left for the app to stop once the drain has ended. */
export const APP_STOP_SECONDS = 10;

/** What the webhook replaced: `was` null means the field was unset. */
export interface GraceRecord {
  was: number | null;
  set: number;
}

export function requiredGraceSeconds(drainMaxMs = SIDECAR_DRAIN_MAX_MS): number {
  return Math.ceil(drainMaxMs / 1000) + APP_STOP_SECONDS;
}

export function formatGraceRecord(record: GraceRecord): string {
  return JSON.stringify({ was: record.was, set: record.set });
}

/** The record, or undefined when absent or not Lull's (a record that cannot be read restores nothing). */
export function parseGraceRecord(value: string | undefined): GraceRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { was, set } = parsed as Record<string, unknown>;
    const isSeconds = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (!isSeconds(set) || !(was === null || isSeconds(was))) return undefined;
    return { was, set };
  } catch {
    return undefined;
  }
}
