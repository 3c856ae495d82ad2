// Reads each pod's last full second of load from its sidecar (`GET podIP:9930/lull/activity`, the
// `load` field), on kept-alive connections: autoscaled apps are asked every second.
import { Agent, request } from 'undici';
import { activityOf } from '../../core/sidecar-admin-client.ts';
import { SIDECAR_PATHS, type SidecarLoad } from '../../core/sidecar-contract.ts';
import type { PodObj } from '../../core/objects.ts';

/** A pod's answer: its load (undefined before its first full second), or why it could not be asked. */
export type LoadAnswer = { pod: string; load: SidecarLoad | undefined; ready: boolean } | { pod: string; error: string };

export type ReadLoad = (pod: PodObj) => Promise<LoadAnswer>;

export function loadReader(timeoutMs: number): { read: ReadLoad; close(): Promise<void> } {
  // One request per pod per second: the connection outlives several polls.
  const agent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connectTimeout: timeoutMs, pipelining: 1, connections: 1 });
  async function read(pod: PodObj): Promise<LoadAnswer> {
    const name = pod.metadata.name;
    if (pod.adminPort === undefined) return { pod: name, error: 'it has no Lull sidecar' };
    if (!pod.ip) return { pod: name, error: 'it has no address yet' };
    const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
    try {
      const res = await request(`http://${host}:${pod.adminPort}${SIDECAR_PATHS.activity}`, { dispatcher: agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      const body = res.statusCode === 200 ? await res.body.json().catch(() => undefined) : await res.body.dump();
      // What an answer means is core's (sidecar-admin-client.ts); only the connection is kept here, for the next second.
      const snapshot = activityOf(res.statusCode, body);
      if ('error' in snapshot) return { pod: name, error: snapshot.error };
      return { pod: name, load: snapshot.load, ready: snapshot.ready === true };
    } catch (err) {
      return { pod: name, error: (err as Error).message || String(err) };
    }
  }
  return { read, close: () => agent.close() };
}

/**
 * Pure: the app's total load in the target's unit, from its pods' answers. A pod that could not be
 * asked counts as the average of those that could (Knative does the same); none answered: undefined.
 */
export function totalLoad(answers: readonly LoadAnswer[], metric: 'concurrency' | 'rps'): { total: number; answered: number; failed: number } | undefined {
  let sum = 0;
  let answered = 0;
  let failed = 0;
  for (const a of answers) {
    if ('error' in a) {
      failed++;
      continue;
    }
    answered++;
    if (a.load) sum += metric === 'concurrency' ? a.load.concurrency : a.load.rps;
  }
  if (answered === 0) return undefined;
  return { total: sum + (failed * sum) / answered, answered, failed };
}
