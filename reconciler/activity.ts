// Asks a pod's sidecar for its activity (`GET podIP:9930/lull/activity`), directly, with a short timeout.
import type { PodObj } from '../core/objects.ts';
import { askActivity } from '../core/sidecar-admin-client.ts';
import type { PodAnswer } from './idle.ts';

export type AskPod = (pod: PodObj) => Promise<PodAnswer>;

export function activityClient(timeoutMs: number, now: () => number = Date.now): { ask: AskPod; close(): Promise<void> } {
  async function ask(pod: PodObj): Promise<PodAnswer> {
    const name = pod.metadata.name;
    if (pod.adminPort === undefined) return { pod: name, error: 'it has no Lull sidecar' };
    if (!pod.ip) return { pod: name, error: 'it has no address yet' };
    const answer = await askActivity({ address: pod.ip, port: pod.adminPort }, timeoutMs);
    return 'error' in answer ? { pod: name, error: answer.error } : { pod: name, snapshot: answer, receivedAt: now() };
  }
  // Nothing pooled: one query per pod per idle period is not worth a kept connection.
  return { ask, close: async () => {} };
}
