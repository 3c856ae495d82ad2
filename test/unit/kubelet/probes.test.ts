import { describe, expect, it } from 'vitest';
import { initialProbeState, probeTiming, recordProbe, restartBackoffMs } from '../../cluster/kubelet/probe-state.ts';

describe('probe thresholds', () => {
  it('uses the Kubernetes defaults', () => {
    expect(probeTiming({})).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  });

  it('turns readiness on after successThreshold and off after failureThreshold in a row', () => {
    const timing = { successThreshold: 2, failureThreshold: 2 };
    let s = initialProbeState('readiness');
    expect(s.result).toBe(false);
    s = recordProbe(s, true, timing);
    expect(s.result).toBe(false);
    s = recordProbe(s, true, timing);
    expect(s.result).toBe(true);
    s = recordProbe(s, false, timing);
    expect(s.result).toBe(true);
    s = recordProbe(s, true, timing);
    s = recordProbe(s, false, timing);
    expect(s.result).toBe(true);
    s = recordProbe(s, false, timing);
    expect(s.result).toBe(false);
  });

  it('starts liveness as passing', () => {
    expect(initialProbeState('liveness').result).toBe(true);
  });

  it('backs off restarts exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(restartBackoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
