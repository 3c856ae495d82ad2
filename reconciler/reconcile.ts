// One reconcile of one app: read everything from the caches, take the step its phase calls for, and
// say when to look again. Level-triggered: whatever was missed, the next reconcile sees the world as it is.
import { settingsOf, phaseOf, type App } from './app.ts';
import type { Context } from './context.ts';
import { onboard } from './onboard.ts';
import { forgetDeleted, optOut } from './opt-out.ts';
import { removeRoute, ensureRoute } from './routes.ts';
import { scheduleOf, wakeAtStart } from './schedule.ts';
import { tend } from './sleep.ts';
import { upgradeSidecar } from './upgrade.ts';
import { awaitScale, finishWake, keepAsleep, tidyAwake } from './wake.ts';
import { splitKey } from './world.ts';

export interface Outcome {
  /** The Deployment is gone: forget the app. */
  gone: boolean;
  /** When to reconcile again, if nothing else happens first. */
  nextAt?: number;
}

export async function reconcile(ctx: Context, key: string): Promise<Outcome> {
  const { namespace, name } = splitKey(key);
  const deployment = ctx.world.deployment(namespace, name);
  if (deployment === undefined) {
    await forgetDeleted(ctx, namespace, name);
    return { gone: true };
  }
  let nextAt = Infinity;
  const app: App = {
    key,
    namespace,
    name,
    deployment,
    settings: settingsOf(deployment),
    memory: ctx.memory(key),
    later: (at) => {
      nextAt = Math.min(nextAt, at);
    },
  };
  const outcome = (): Outcome => (Number.isFinite(nextAt) ? { gone: false, nextAt } : { gone: false });

  const membership = ctx.world.membership(deployment);
  if (membership === 'unknown') return outcome();
  if (membership === 'out') {
    await optOut(ctx, app);
    return outcome();
  }
  if (!(await onboard(ctx, app))) return outcome();
  await upgradeSidecar(ctx, app);

  // The Services that are this app's alone: a Service shared with other Deployments cannot wake one of them.
  const selecting = ctx.world.servicesSelecting(app.deployment);
  const own = selecting.filter((s) => ctx.world.deploymentsSelectedBy(s).length === 1);
  for (const service of ctx.ports.servicesRouting(key)) {
    if (!own.some((s) => s.metadata.name === service)) await removeRoute(ctx, namespace, service, ctx.world.informers.services.get(namespace, service));
  }

  const hours = scheduleOf(ctx, app);
  switch (phaseOf(app.deployment)) {
    case 'asleep':
      await keepAsleep(ctx, app, own);
      await wakeAtStart(ctx, app, hours);
      break;
    case 'wake-pending':
      await awaitScale(ctx, app);
      break;
    case 'waking':
      await finishWake(ctx, app, own);
      break;
    case 'awake':
      // Ports are allocated while awake, so the interceptor listens long before the first sleep.
      for (const service of own) await ensureRoute(ctx, name, service);
      await tidyAwake(ctx, app, own);
      await tend(ctx, app, selecting, hours);
      break;
  }
  return outcome();
}
