// Idle detection and the sleep itself (docs/design.md "Lifecycles"). Pods are asked only once the app's deadline
// could have passed; the sleep writes state, then routes to the interceptor, then scales to zero, and
// the scale is a compare-and-swap so a wake or a user's change in between always wins.
import { REPLICAS_BEFORE_SLEEP, SLEEP_REQUESTED_AT, SLEPT_AT, STATE } from '../core/annotations.ts';
import { serviceProblem } from '../core/app-problems.ts';
import { formatDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { EVENT_REASONS } from '../core/events.ts';
import type { InterceptorRoute } from '../core/interceptor-contract.ts';
import { isStatus } from '../core/kube-client.ts';
import { stateOf, type App } from './app.ts';
import type { Context } from './context.ts';
import { decide, firstDeadline, type PodAnswer } from './idle.ts';
import type { DeploymentObj, PodObj, ServiceObj } from '../core/objects.ts';
import { sidecarRouted, sidecarRoutingPending } from './onboard.ts';
import { ensureRoute, syncSlice } from './routes.ts';
import { OUTSIDE_RECHECK_MS, scheduleSleepMessage, type HoursNow } from './schedule.ts';
import { sliceName } from './slices.ts';
import { autoscaleSettings } from '../core/autoscale-settings.ts';
import { sleepRequested } from '../core/sleep-request.ts';

/** Pods that can still take traffic: the ones whose activity decides. */
export function livePods(pods: readonly PodObj[]): PodObj[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp && p.phase !== 'Succeeded' && p.phase !== 'Failed');
}

/**
 * Pure: why the app may not sleep whatever its activity, or undefined. Sleeping needs a way back (a
 * Service and a ready interceptor) and complete knowledge (every Service reaches it through the sidecar).
 */
export function sleepBlocker(services: readonly ServiceObj[], backendsOf: (s: ServiceObj) => readonly DeploymentObj[], interceptorsReady: number, app?: string): string | undefined {
  // The texts the webhook warns with and `lull status` shows (core/app-problems.ts).
  if (services.length === 0) return serviceProblem.none().message;
  for (const service of services) {
    if (service.headless) return serviceProblem.headless(service.metadata.name).message;
    const backends = backendsOf(service);
    if (backends.length !== 1) return serviceProblem.shared(service.metadata.name, backends.map((b) => b.metadata.name).filter((n) => n !== app)).message;
    if (!sidecarRouted(service) || sidecarRoutingPending(service, backends)) return `Service ${service.metadata.name} does not reach it through the sidecar yet`;
  }
  if (interceptorsReady === 0) return 'no interceptor pod is ready to take its requests';
  return undefined;
}

/**
 * Awake and scaled up: ask the pods when the deadline has passed, sleep when they are all idle. Outside
 * awake-hours (`hours` closed) idle-after is zero: it sleeps as soon as nothing is in flight.
 */
export async function tend(ctx: Context, app: App, services: readonly ServiceObj[], hours?: HoursNow): Promise<void> {
  const d = app.deployment;
  const mem = app.memory;
  if (d.replicas === 0) return; // Scaled to zero by someone else: there is nothing to ask.
  // min-replicas ≥ 1: no sleep for being idle; a `lull sleep` or closed awake-hours still put it down.
  if ((autoscaleSettings(d.metadata.annotations)?.minReplicas ?? 0) > 0 && !sleepRequested(d.metadata.annotations) && (hours === undefined || hours.moment.open)) return;
  const blocker = sleepBlocker(services, (s) => ctx.world.deploymentsSelectedBy(s), ctx.interceptors().length, app.name);
  if (blocker !== mem.blocked) ctx.logger.debug({ app: app.key, blocker }, blocker ? 'may not sleep' : 'may sleep');
  const wasBlocked = mem.blocked !== undefined;
  mem.blocked = blocker;
  if (blocker) return; // Whatever lifts it (a Service, an interceptor) brings an event and a reconcile.
  if (wasBlocked) mem.routedAt = ctx.now();

  const pods = livePods(ctx.world.pods(app.namespace, app.name));
  const outside = hours !== undefined && !hours.moment.open;
  const idleAfter = outside ? 0 : app.settings.idleAfterMs;
  const due = mem.retryAt ?? firstDeadline(Math.max(mem.activeAt ?? -Infinity, mem.routedAt ?? -Infinity), pods.map((p) => p.startedAt), idleAfter);
  const now = ctx.now();
  if (now < due) {
    app.later(due);
    return;
  }
  const answers: PodAnswer[] = await Promise.all(pods.map((p) => ctx.ask(p)));
  const askedAt = ctx.now();
  const verdict = decide(answers, idleAfter, askedAt, mem.failures, mem.routedAt);
  for (const a of answers) {
    if ('error' in a) ctx.metrics.idleQueryFailures.inc();
    const outcome = 'error' in a ? 'failed' : (a.snapshot.requestsInFlight ?? a.snapshot.inFlight) > 0 ? 'busy' : verdict.idle ? 'idle' : 'active';
    ctx.metrics.idleQueries.inc({ outcome });
  }
  if (!verdict.idle) {
    // Outside hours idle-after is zero, which is no interval to ask again at.
    const recheckAt = outside ? Math.max(verdict.recheckAt, askedAt + OUTSIDE_RECHECK_MS) : verdict.recheckAt;
    const failed = answers.length === 0 || answers.some((a) => 'error' in a);
    mem.failures = failed ? mem.failures + 1 : 0;
    mem.retryAt = failed ? recheckAt : undefined;
    mem.activeAt = verdict.activeAt;
    // The first failure in a row is worth a line; the retries that follow are not.
    if (failed) ctx.logger[mem.failures === 1 ? 'info' : 'debug']({ app: app.key, reason: verdict.reason, retryAt: new Date(recheckAt).toISOString() }, 'counted busy');
    app.later(recheckAt);
    return;
  }
  mem.failures = 0;
  mem.retryAt = undefined;
  await sleep(ctx, app, services, askedAt - verdict.activeAt, outside ? hours : undefined);
}

/** The sleep, in the order that loses nothing. `outsideHours`: it sleeps for its schedule, not for being idle. */
export async function sleep(ctx: Context, app: App, services: readonly ServiceObj[], idleForMs: number, outsideHours?: HoursNow): Promise<void> {
  const { namespace, name } = app;
  const before = app.deployment.replicas;
  const sleptAt = new Date(ctx.now()).toISOString();

  // 1. The state first: from here on the interceptor knows the app and how many replicas to wake it to.
  let d: DeploymentObj | undefined = app.deployment;
  for (let attempt = 0; ; attempt++) {
    try {
      d = await ctx.api.annotateDeployment(namespace, name, { [STATE]: 'sleeping', [REPLICAS_BEFORE_SLEEP]: String(before), [SLEPT_AT]: sleptAt, ...(d.metadata.annotations?.[SLEEP_REQUESTED_AT] !== undefined ? { [SLEEP_REQUESTED_AT]: null } : {}) }, d.metadata.resourceVersion);
      break;
    } catch (err) {
      if (!isStatus(err, 409) || attempt >= 3) throw err;
      // Changed since the cache saw it (often just its status): go on only if nothing that matters moved.
      d = await ctx.api.getDeployment(namespace, name);
      if (d === undefined || d.replicas !== before || (stateOf(d) ?? 'awake') !== 'awake' || !d.injected) {
        ctx.logger.info({ app: app.key }, lullError(errors.sleepAborted, app.key, 'the Deployment changed while it was being put to sleep').message);
        return;
      }
    }
  }

  // 2. Routes to the interceptor, before a single pod goes away.
  const written: ServiceObj[] = [];
  try {
    for (const service of services) {
      const route: InterceptorRoute | undefined = await ensureRoute(ctx, name, service);
      if (route === undefined) continue;
      await syncSlice(ctx, service, route);
      written.push(service);
    }
  } catch (err) {
    await undo(ctx, app, written);
    throw err;
  }

  // 3. Scale to zero, only if nobody woke or scaled it meanwhile (the interceptor writes waking).
  for (let attempt = 0; ; attempt++) {
    const fresh = await ctx.api.getDeployment(namespace, name);
    if (fresh === undefined || stateOf(fresh) !== 'sleeping' || fresh.replicas !== before) {
      ctx.logger.info({ app: app.key, state: fresh && stateOf(fresh), replicas: fresh?.replicas }, lullError(errors.sleepAborted, app.key, 'it was woken or scaled while the interceptor was being put in front of it').message);
      return; // The waking phase of the next reconcile tidies up.
    }
    try {
      await ctx.api.scale(namespace, name, 0, fresh.metadata.resourceVersion);
      break;
    } catch (err) {
      if (!isStatus(err, 409) || attempt >= 5) throw err;
    }
  }

  app.memory.activeAt = undefined;
  ctx.metrics.sleeps.inc();
  ctx.record(
    { namespace, name, uid: app.deployment.metadata.uid },
    EVENT_REASONS.slept,
    outsideHours
      ? scheduleSleepMessage(outsideHours, before)
      : `No request for ${formatDuration(idleForMs)} (idle-after ${formatDuration(app.settings.idleAfterMs)}): scaled from ${before} to 0; requests now wake it through the interceptor`,
    'Normal',
    { action: outsideHours ? 'schedule' : 'idle' },
  );
}

/** A sleep that failed half-way: back to awake, so nothing waits on an interceptor for an app that never slept. */
async function undo(ctx: Context, app: App, written: readonly ServiceObj[]): Promise<void> {
  try {
    for (const service of written) {
      ctx.sliceWrites.deleted(app.namespace, sliceName(service.metadata.name));
      await ctx.api.deleteSlice(app.namespace, sliceName(service.metadata.name));
    }
    await ctx.api.annotateDeployment(app.namespace, app.name, { [STATE]: 'awake', [REPLICAS_BEFORE_SLEEP]: null, [SLEPT_AT]: null });
  } catch (err) {
    ctx.logger.warn({ app: app.key, err: (err as Error).message }, 'could not undo a failed sleep; the next reconcile will');
  }
}
