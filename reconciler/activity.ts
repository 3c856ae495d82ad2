// Asks a pod's sidecar for its activity (`GET podIP:9930/lull/activity`), directly, with a short timeout.
import { Agent, request } from 'undici';
import { SIDECAR_PATHS, type ActivitySnapshot } from '../core/sidecar-contract.ts';
import type { PodAnswer } from './idle.ts';
import type { PodObj } from '../core/objects.ts';

export type AskPod = (pod: PodObj) => Promise<PodAnswer>;

export function activityClient(timeoutMs: number, now: () => number = Date.now): { ask: AskPod; close(): Promise<void> } {
  // One query per pod per idle period: connections are not worth keeping.
  const agent = new Agent({ keepAliveTimeout: 1000, connectTimeout: timeoutMs, pipelining: 0 });
  async function ask(pod: PodObj): Promise<PodAnswer> {
    const name = pod.metadata.name;
    if (pod.adminPort === undefined) return { pod: name, error: 'it has no Lull sidecar' };
    if (!pod.ip) return { pod: name, error: 'it has no address yet' };
    const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
    try {
      const res = await request(`http://${host}:${pod.adminPort}${SIDECAR_PATHS.activity}`, {
        dispatcher: agent,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return { pod: name, error: `the sidecar answered ${res.statusCode}` };
      }
      const snapshot = (await res.body.json()) as ActivitySnapshot;
      if (typeof snapshot.lastActivityAt !== 'number' || typeof snapshot.now !== 'number') return { pod: name, error: 'the sidecar answered something that is not an activity snapshot' };
      return { pod: name, snapshot, receivedAt: now() };
    } catch (err) {
      return { pod: name, error: (err as Error).message || String(err) };
    }
  }
  return { ask, close: () => agent.close() };
}
