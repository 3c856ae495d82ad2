// lull.dev/auto-upgrade-sidecar: an app whose injected sidecar is not this release's is re-submitted
// through the webhook (a touch), which injects the current sidecar; the changed template rolls the pods.
import { INJECTED, TOUCHED_AT, parseAnnotations } from '../core/annotations.ts';
import type { App } from './app.ts';
import type { Context } from './context.ts';
import { nextTouchAt, touchDue } from './touch.ts';

// Its own backoff, apart from onboarding's: while parts roll during an upgrade an older webhook may
// inject the older sidecar again, and the retries must space out rather than follow every event.
const BACKOFF_ID = 'upgrade';

/** Pure: the app asks for upgrades and was injected by another version than `current`. */
export function upgradeDue(annotations: Record<string, string> | undefined, current: string | undefined): boolean {
  const injected = annotations?.[INJECTED];
  if (current === undefined || injected === undefined || injected === current) return false;
  return parseAnnotations(annotations).autoUpgradeSidecar;
}

/** Touches the Deployment while its sidecar is outdated and it asks for upgrades. */
export async function upgradeSidecar(ctx: Context, app: App): Promise<void> {
  const annotations = app.deployment.metadata.annotations;
  if (!upgradeDue(annotations, ctx.sidecarVersion)) {
    app.memory.touches.delete(BACKOFF_ID);
    return;
  }
  const entry = app.memory.touches.get(BACKOFF_ID);
  const now = ctx.now();
  const { due, at } = touchDue(entry, annotations?.[TOUCHED_AT], now);
  if (!due) {
    app.later(at);
    return;
  }
  await ctx.api.touch('deployment', app.namespace, app.name, new Date(now));
  const attempts = (entry?.attempts ?? 0) + 1;
  const nextAt = nextTouchAt(attempts, now);
  app.memory.touches.set(BACKOFF_ID, { attempts, nextAt });
  app.later(nextAt);
  ctx.metrics.touches.inc({ kind: 'deployment', purpose: 'upgrade' });
  ctx.logger.info({ app: app.key, injected: annotations?.[INJECTED], current: ctx.sidecarVersion, attempts }, 'sidecar outdated: touched to re-inject it');
}
