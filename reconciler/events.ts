// Records Events on Deployments; an Event that cannot be written is logged, never retried or fatal.
import { buildEvent, type EventReason, type EventTarget } from '../core/events.ts';
import type { KubeClient } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';

export type RecordEvent = (target: EventTarget, reason: EventReason, message: string, type?: 'Normal' | 'Warning', action?: string) => void;

export function eventRecorder(client: KubeClient, instance: string, logger: Logger): RecordEvent {
  return (target, reason, message, type = 'Normal', action) => {
    const event = buildEvent({ target, reason, message, type, component: 'lull-reconciler', instance, ...(action ? { action } : {}) });
    logger.info({ namespace: target.namespace, deployment: target.name, reason, ...(action ? { action } : {}) }, message);
    client.request('POST', `/api/v1/namespaces/${target.namespace}/events`, { body: event }).catch((err: unknown) => {
      logger.warn({ namespace: target.namespace, deployment: target.name, reason, err: (err as Error).message }, 'could not record an Event');
    });
  };
}
