// What happens while the first request is held, as it happens: Lull's Events on the app, and its new
// pod being created, started and ready; each line stamped with the time since the request was sent.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { EVENT_REASONS } from '../core/events.ts';
import { informer, type Informer } from '../core/informer.ts';
import type { KubeClient } from '../core/kube-client.ts';

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

export async function followWake(client: KubeClient, namespace: string, app: string, startedAt: () => number, say: Say): Promise<WakeWatch> {
  const said = new Set<string>();
  const reasons = new Map<string, () => void>();
  const seenReasons = new Set<string>();
  const now = () => performance.now() - startedAt();
  // What is there already when the story starts is not news: only changes after the first list are told.
  const events: Informer<CoreV1Event> = informer<CoreV1Event>({ client, path: `/api/v1/namespaces/${namespace}/events`, fieldSelector: `involvedObject.name=${app}`, onChange: (change, event) => {
    const line = change === 'add' && events.hasSynced() ? eventLine(event, app) : undefined;
    if (!line) return;
    say(now(), line);
    seenReasons.add(event.reason ?? '');
    reasons.get(event.reason ?? '')?.();
  } }).start();
  const pods: Informer<V1Pod> = informer<V1Pod>({ client, path: `/api/v1/namespaces/${namespace}/pods`, labelSelector: `app=${app}`, onChange: (change, pod) => {
    if (!pods.hasSynced() || change === 'delete' || pod.metadata?.deletionTimestamp) return;
    // A pod can pass several stages in one update: say each.
    for (let line = podLine(pod, said); line; line = podLine(pod, said)) say(now(), line);
  } }).start();
  await Promise.all([events.synced, pods.synced]);
  return {
    stop() {
      events.stop();
      pods.stop();
    },
    seen: (reason) => (seenReasons.has(reason) ? Promise.resolve() : new Promise<void>((resolve) => reasons.set(reason, resolve))),
  };
}
