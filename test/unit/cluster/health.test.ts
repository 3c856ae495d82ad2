import { describe, expect, it } from 'vitest';
import { nodeReadiness, waitUntil } from '../../cluster/health.ts';
import { platformProblems } from '../../cluster/prerequisites.ts';

describe('nodeReadiness', () => {
  it('is ready only on Ready=True', () => {
    expect(nodeReadiness(undefined)).toEqual({ ok: false, detail: 'the Node is not registered' });
    expect(nodeReadiness({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }).ok).toBe(true);
    expect(nodeReadiness({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'network' }] } })).toEqual({
      ok: false,
      detail: 'Node Ready=False (KubeletNotReady: network)',
    });
  });
});

describe('waitUntil', () => {
  it('resolves once the check passes', async () => {
    let n = 0;
    expect(await waitUntil(async () => ({ ok: ++n >= 3, detail: `try ${n}` }), { timeoutMs: 5_000, intervalMs: 1 })).toEqual({ ok: true });
  });

  it('gives the last reason on timeout', async () => {
    const outcome = await waitUntil(async () => ({ ok: false, detail: 'connection refused' }), { timeoutMs: 50, intervalMs: 10 });
    expect(outcome).toEqual({ ok: false, reason: 'not healthy after 0s (connection refused)' });
  });

  it('stops waiting when the process exits', async () => {
    const exited = Promise.resolve({ code: 2, signal: null });
    await exited;
    const outcome = await waitUntil(async () => ({ ok: false, detail: 'refused' }), { timeoutMs: 5_000, intervalMs: 10, exited });
    expect(outcome).toEqual({ ok: false, reason: 'it exited with code 2' });
  });
});

describe('platformProblems', () => {
  it('needs Linux and root', () => {
    expect(platformProblems('darwin', 0)[0]!.what).toBe('Linux');
    expect(platformProblems('linux', 1000)[0]!.what).toBe('root');
    expect(platformProblems('linux', 0)).toEqual([]);
  });
});
