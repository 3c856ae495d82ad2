// What happens while the first request is held, as it happens: Lull's Events on the app, and its new
// pod being created, started and ready; each line stamped with the time since the request was sent.
import type { CoreV1Event, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import { EVENT_REASONS } from '../core/events.ts';
import { follow } from './watch.ts';

export type Say = (offsetMs: number, line: string) => void;

/** Pure: the line for a Lull Event about the app, or undefined for any other Event. */
export function eventLine(event: CoreV1Event, app: string): string | undefined {
  if (event.involvedObject?.kind !== 'Deployment' || event.involvedObject.name !== app) return undefined;
  const reasons: readonly string[] = [EVENT_REASONS.waking, EVENT_REASONS.woke, EVENT_REASONS.wakeFailed];
  if (!reasons.includes(event.reason ?? '')) return undefined;
  const who = event.source?.component ?? event.reportingComponent ?? 'lull';
  return `${event.reason} (${who}): ${event.message}`;
}

/** Pure: what changed in a pod of the app worth a line, given what was already said about it. */
export function podLine(pod: V1Pod, said: Set<string>): string | undefined {
  const name = pod.metadata?.name ?? '';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const running = pod.status?.phase === 'Running';
  const node = pod.spec?.nodeName;
  for (const [key, ok, line] of [
    [`${name}:created`, true, `pod ${name} created`],
    [`${name}:scheduled`, node !== undefined, `pod ${name} scheduled`],
    [`${name}:running`, running, `pod ${name} running (app and sidecar started)`],
    [`${name}:ready`, ready, `pod ${name} ready`],
  ] as const) {
    if (!ok || said.has(key)) continue;
    said.add(key);
    return line;
  }
  return undefined;
}

export interface WakeWatch {
  stop(): void;
  /** Resolves once an Event with this reason was seen (Events are written a moment after the fact). */
  seen(reason: string): Promise<void>;
}

export async function followWake(kc: KubeConfig, client: KubeClient, namespace: string, app: string, startedAt: () => number, say: Say): Promise<WakeWatch> {
  const said = new Set<string>();
  const reasons = new Map<string, () => void>();
  const seenReasons = new Set<string>();
  const now = () => performance.now() - startedAt();
  const stopEvents = await follow<CoreV1Event>(kc, client, `/api/v1/namespaces/${namespace}/events`, { fieldSelector: `involvedObject.name=${app}` }, (type, event) => {
    const line = type === 'ADDED' ? eventLine(event, app) : undefined;
    if (!line) return;
    say(now(), line);
    seenReasons.add(event.reason ?? '');
    reasons.get(event.reason ?? '')?.();
  });
  const stopPods = await follow<V1Pod>(kc, client, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: `app=${app}` }, (type, pod) => {
    if (type === 'DELETED' || pod.metadata?.deletionTimestamp) return;
    // A pod can pass several stages in one update: say each.
    for (let line = podLine(pod, said); line; line = podLine(pod, said)) say(now(), line);
  });
  return {
    stop() {
      stopEvents();
      stopPods();
    },
    seen: (reason) => (seenReasons.has(reason) ? Promise.resolve() : new Promise<void>((resolve) => reasons.set(reason, resolve))),
  };
}
