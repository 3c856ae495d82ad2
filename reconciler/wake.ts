// Asleep and awake again (docs/design.md "Routing" step 3): while asleep the interceptor slices follow the
// interceptor pods; once replicas are back (the interceptor, a user's scale, a GitOps re-apply) each
// slice goes as soon as that Service's own endpoints are ready, and then the app is awake.
import { REPLICAS_BEFORE_SLEEP, SLEPT_AT, STATE } from '../core/annotations.ts';
import { formatDuration, preciseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { EVENT_REASONS, WAKE_DURATION_MS } from '../core/events.ts';
import { isStatus } from '../core/kube-client.ts';
import { stateOf, type App } from './app.ts';
import type { Context } from './context.ts';
import type { PodObj, ServiceObj } from '../core/objects.ts';
import { deleteSlice, ensureRoute, interceptorSlice, syncSlice } from './routes.ts';
import { livePods } from './sleep.ts';
import { ownEndpointsReady } from './slices.ts';


/** Asleep: every Service routes to the interceptor, whatever pods it has today. */
export async function keepAsleep(ctx: Context, app: App, services: readonly ServiceObj[]): Promise<void> {
  app.memory.activeAt = undefined;
  app.memory.wakeStartedAt = undefined;
  app.memory.wakeFailedReported = false;
  for (const service of services) {
    const route = await ensureRoute(ctx, app.name, service);
    if (route !== undefined) await syncSlice(ctx, service, route);
  }
}

/** Pure: a line on why pods are not ready, for WakeFailed. */
export function podsSummary(pods: readonly PodObj[]): string {
  if (pods.length === 0) return 'no pod was created';
  const ready = pods.filter((p) => p.ready).length;
  const others = pods.filter((p) => !p.ready).slice(0, 3).map((p) => `${p.metadata.name} ${p.phase ?? 'Pending'}${p.ip ? '' : ' without an address'}`);
  return `${ready}/${pods.length} pods ready${others.length ? `; ${others.join(', ')}` : ''}`;
}

/** Counted and logged once per wake; the WakeFailed Event is the interceptor's, which holds the requests and sees the failure first. */
function reportFailure(ctx: Context, app: App, startedAt: number, detail: string): void {
  if (app.memory.wakeFailedReported) return;
  app.memory.wakeFailedReported = true;
  ctx.metrics.wakeFailures.inc();
  const why = `no ready endpoint ${formatDuration(ctx.now() - startedAt)} after the wake began (hold-timeout ${formatDuration(app.settings.holdTimeoutMs)}): ${detail}`;
  const failure = lullError(errors.wakeFailed, app.key, why);
  ctx.logger.warn({ app: app.key, code: failure.code }, failure.message);
}

/** The interceptor wrote `waking` but the replicas are still zero: give it the hold-timeout, then say so. */
export async function awaitScale(ctx: Context, app: App): Promise<void> {
  const startedAt = (app.memory.wakeStartedAt ??= ctx.now());
  const deadline = startedAt + app.settings.holdTimeoutMs;
  if (ctx.now() < deadline) {
    app.later(deadline);
    return;
  }
  reportFailure(ctx, app, startedAt, 'the Deployment was never scaled up');
  // Back to sleeping, so the next request starts a wake of its own.
  try {
    await ctx.api.annotateDeployment(app.namespace, app.name, { [STATE]: 'sleeping' }, app.deployment.metadata.resourceVersion);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  app.memory.wakeStartedAt = undefined;
  app.memory.wakeFailedReported = false;
}

/** Replicas are back: slices go Service by Service as the app's own endpoints become ready, then `awake`. */
export async function finishWake(ctx: Context, app: App, services: readonly ServiceObj[]): Promise<void> {
  const d = app.deployment;
  const startedAt = (app.memory.wakeStartedAt ??= ctx.now());
  let waiting = 0;
  for (const service of services) {
    if (ownEndpointsReady(ctx.world.slices(app.namespace, service.metadata.name))) {
      if (interceptorSlice(ctx, service)) await deleteSlice(ctx, service);
    } else {
      waiting++;
    }
  }
  if (waiting > 0 || (services.length === 0 && d.readyReplicas === 0)) {
    const deadline = startedAt + app.settings.holdTimeoutMs;
    if (ctx.now() >= deadline) reportFailure(ctx, app, startedAt, podsSummary(livePods(ctx.world.pods(app.namespace, app.name))));
    else app.later(deadline);
    return;
  }
  const trigger = app.memory.wokeBySchedule ? 'schedule' : stateOf(d) === 'waking' ? 'interceptor' : 'scale';
  app.deployment = await ctx.api.annotateDeployment(app.namespace, app.name, { [STATE]: 'awake', [REPLICAS_BEFORE_SLEEP]: null, [SLEPT_AT]: null }, d.metadata.resourceVersion);
  const took = ctx.now() - startedAt;
  ctx.metrics.wakes.inc({ trigger });
  ctx.metrics.wakeDuration.observe(took / 1000);
  // Waking is activity: the first ask comes one idle period from now.
  app.memory.activeAt = ctx.now();
  app.memory.wakeStartedAt = undefined;
  app.memory.wakeFailedReported = false;
  app.memory.wokeBySchedule = false;
  const how = trigger === 'interceptor' ? 'woken by a request' : trigger === 'schedule' ? 'woken ahead of its awake-hours (wake-at-start)' : `scaled to ${d.replicas} by someone other than Lull`;
  ctx.record({ namespace: app.namespace, name: app.name, uid: d.metadata.uid }, EVENT_REASONS.woke, `Ready ${preciseDuration(took)} after the wake began (${how}); requests go straight to the app again`, 'Normal', {
    annotations: { [WAKE_DURATION_MS]: String(Math.round(took)) },
  });
}

/** Awake with interceptor slices left over (a sleep undone, a state removed by a replace): tidy up quietly. */
export async function tidyAwake(ctx: Context, app: App, services: readonly ServiceObj[]): Promise<void> {
  for (const service of services) {
    if (!interceptorSlice(ctx, service)) continue;
    if (app.deployment.replicas === 0 || ownEndpointsReady(ctx.world.slices(app.namespace, service.metadata.name))) await deleteSlice(ctx, service);
  }
}
