// Last activity of an awake app, asked of its pods' sidecars through the API server's pod proxy (so it
// works from a laptop): the most recent activity on any pod, and what is in flight now.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import { askActivityThroughApiserver } from '../core/sidecar-admin-client.ts';
import type { ActivitySnapshot } from '../core/sidecar-contract.ts';
import { trimPod } from '../core/objects.ts';

export interface Activity {
  /** Milliseconds since the last request or byte on any pod; measured on the pods' clocks, so skew does not matter. */
  idleForMs: number;
  inFlight: number;
  /** Pods that answered, of those asked. */
  answered: number;
  asked: number;
  /** The pods' last full second summed (request-based scaling); absent when no pod reported one yet. */
  load?: { concurrency: number; rps: number };
}

/** Pure: one figure for the app from its pods' answers. */
export function combine(snapshots: readonly ActivitySnapshot[], asked: number): Activity | undefined {
  if (snapshots.length === 0) return undefined;
  // A pod that saw nothing yet counts from its start: it has been idle that long.
  const idle = snapshots.map((s) => s.now - (s.lastActivityAt || s.startedAt));
  const activity: Activity = {
    idleForMs: Math.max(0, Math.min(...idle)),
    inFlight: snapshots.reduce((n, s) => n + (s.requestsInFlight ?? s.inFlight), 0),
    answered: snapshots.length,
    asked,
  };
  const loads = snapshots.flatMap((s) => (s.load ? [s.load] : []));
  if (loads.length > 0) activity.load = { concurrency: loads.reduce((n, l) => n + l.concurrency, 0), rps: loads.reduce((n, l) => n + l.rps, 0) };
  return activity;
}

/** Running, not deleted, with a sidecar: the pods worth asking. */
export function askablePods(pods: readonly V1Pod[]): Array<{ namespace: string; name: string; port: number }> {
  const out = [];
  for (const pod of pods) {
    const trimmed = trimPod(pod);
    if (trimmed.adminPort === undefined || trimmed.metadata.deletionTimestamp || pod.status?.phase !== 'Running') continue;
    out.push({ namespace: trimmed.metadata.namespace ?? '', name: trimmed.metadata.name, port: trimmed.adminPort });
  }
  return out;
}

export async function askActivity(client: KubeClient, pods: readonly V1Pod[], timeoutMs = 2000): Promise<Activity | undefined> {
  const targets = askablePods(pods);
  const answers = await Promise.all(targets.map((p) => askActivityThroughApiserver(client, p, timeoutMs)));
  return combine(answers.filter((a): a is ActivitySnapshot => !('error' in a)), targets.length);
}
