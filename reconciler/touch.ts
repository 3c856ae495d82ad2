// The no-op touch (`lull.dev/touched-at`) that re-submits an object through the webhook, with backoff:
// a webhook that is down or behind gets asked again after 1 s, 2 s, 4 s ... up to 5 minutes.
import { TOUCHED_AT } from '../core/annotations.ts';
import type { App } from './app.ts';
import type { Context } from './context.ts';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 300_000;

/** Pure: may `what` be touched now? `touchedAt`: its annotation, which outlives a change of leader. */
export function touchDue(entry: { attempts: number; nextAt: number } | undefined, touchedAt: string | undefined, now: number): { due: boolean; at: number } {
  if (entry !== undefined) return { due: now >= entry.nextAt, at: entry.nextAt };
  const last = touchedAt === undefined ? NaN : Date.parse(touchedAt);
  if (Number.isFinite(last) && now - last < FIRST_RETRY_MS) return { due: false, at: last + FIRST_RETRY_MS };
  return { due: true, at: now };
}

export function nextTouchAt(attempts: number, now: number): number {
  return now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempts - 1, 20));
}

/**
 * Touches the Deployment (`service` undefined) or one of its Services, unless it was touched too
 * recently; either way asks for a reconcile when another touch would be due.
 */
export async function touch(ctx: Context, app: App, purpose: 'onboard' | 'route' | 'opt-out', service?: { name: string; annotations?: Record<string, string> }): Promise<void> {
  const id = service ? `service/${service.name}` : 'deployment';
  const annotations = service ? service.annotations : app.deployment.metadata.annotations;
  const entry = app.memory.touches.get(id);
  const now = ctx.now();
  const { due, at } = touchDue(entry, annotations?.[TOUCHED_AT], now);
  if (!due) {
    app.later(at);
    return;
  }
  await ctx.api.touch(service ? 'service' : 'deployment', app.namespace, service?.name ?? app.name, new Date(now));
  const attempts = (entry?.attempts ?? 0) + 1;
  const nextAt = nextTouchAt(attempts, now);
  app.memory.touches.set(id, { attempts, nextAt });
  app.later(nextAt);
  ctx.metrics.touches.inc({ kind: service ? 'service' : 'deployment', purpose });
  ctx.logger.info({ app: app.key, object: id, purpose, attempts }, 'touched to re-submit through the webhook');
}

/** What the touch was for has happened: the next need starts from a fresh backoff. */
export function touched(app: App, service?: string): void {
  app.memory.touches.delete(service ? `service/${service}` : 'deployment');
}
