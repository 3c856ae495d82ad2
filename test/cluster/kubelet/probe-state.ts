// Probe thresholds as the kubelet applies them: a result flips only after successThreshold successes
// or failureThreshold failures in a row.
import type { V1Probe } from '@kubernetes/client-node';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(probe: V1Probe): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

export interface ProbeState {
  result: boolean;
  successes: number;
  failures: number;
}

/** Readiness and startup start out failed; liveness starts out passing. */
export function initialProbeState(kind: 'readiness' | 'liveness' | 'startup'): ProbeState {
  return { result: kind === 'liveness', successes: 0, failures: 0 };
}

export function recordProbe(state: ProbeState, ok: boolean, timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>): ProbeState {
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let result = state.result;
  if (ok && successes >= timing.successThreshold) result = true;
  if (!ok && failures >= timing.failureThreshold) result = false;
  return { result, successes, failures };
}

/** Restart back-off: 1s doubling to 30s (the real kubelet's 10s–5m is too slow for tests), reset after 60s of running. */
export function restartBackoffMs(consecutiveCrashes: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, consecutiveCrashes - 1));
}
export const BACKOFF_RESET_MS = 60_000;
