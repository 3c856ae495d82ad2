// Opt-out: wake a sleeping app, let the webhook take the sidecar out and point the Services back at the
// app, remove the interceptor slices once the app's own endpoints are ready, then forget the app.
import { ORIGINAL_TARGET_PORTS, REPLICAS_BEFORE_SLEEP, SLEPT_AT, STATE } from '../core/annotations.ts';
import { EVENT_REASONS } from '../core/events.ts';
import { stateOf, wakeReplicas, type App } from './app.ts';
import type { Context } from './context.ts';
import type { ServiceObj } from '../core/objects.ts';
import { deleteSlice, removeRoute, slicesLeft } from './routes.ts';
import { ownEndpointsReady } from './slices.ts';
import { appKey } from './world.ts';
import { touch, touched } from './touch.ts';

function unique(services: ServiceObj[]): ServiceObj[] {
  const seen = new Map<string, ServiceObj>();
  for (const s of services) seen.set(s.metadata.name, s);
  return [...seen.values()];
}

export async function optOut(ctx: Context, app: App): Promise<void> {
  const d = app.deployment;
  const state = stateOf(d);
  const annotations = d.metadata.annotations ?? {};
  const selecting = ctx.world.servicesSelecting(d);
  const routingNames = ctx.ports.servicesRouting(app.key);
  const routing = routingNames.flatMap((n) => ctx.world.informers.services.get(app.namespace, n) ?? []);
  const withSlices = slicesLeft(ctx, unique([...selecting, ...routing]));
  const sidecarServices = selecting.filter((s) => s.metadata.annotations?.[ORIGINAL_TARGET_PORTS] !== undefined);
  const remembered = [STATE, REPLICAS_BEFORE_SLEEP, SLEPT_AT].filter((k) => annotations[k] !== undefined);
  // Not Lull's, and nothing of Lull's left on it: the common case, and free.
  if (remembered.length === 0 && routingNames.length === 0 && withSlices.length === 0 && !d.injected && sidecarServices.length === 0) return;

  if (d.injected) await touch(ctx, app, 'opt-out');
  else touched(app);

  if ((state === 'sleeping' || state === 'waking') && d.replicas === 0) {
    const replicas = wakeReplicas(d, app.settings);
    await ctx.api.scale(app.namespace, app.name, replicas, d.metadata.resourceVersion);
    ctx.logger.info({ app: app.key, replicas }, 'opted out while asleep: woken');
    return;
  }

  if (!d.injected) {
    for (const service of sidecarServices) await touch(ctx, app, 'opt-out', { name: service.metadata.name, ...(service.metadata.annotations ? { annotations: service.metadata.annotations } : {}) });
  }

  // Requests keep reaching the interceptor until the app can take them directly.
  let waiting = 0;
  for (const service of withSlices) {
    if (d.replicas === 0 || ownEndpointsReady(ctx.world.slices(app.namespace, service.metadata.name))) await deleteSlice(ctx, service);
    else waiting++;
  }
  if (waiting > 0) return;

  for (const name of routingNames) await removeRoute(ctx, app.namespace, name, ctx.world.informers.services.get(app.namespace, name), { slice: false });
  if (remembered.length === 0) return;
  // Guarded: a reconcile on a cache that has not seen this write yet gets a 409, not a second Event.
  await ctx.api.annotateDeployment(app.namespace, app.name, Object.fromEntries(remembered.map((k) => [k, null])), d.metadata.resourceVersion);
  ctx.metrics.optOuts.inc();
  ctx.record({ namespace: app.namespace, name: app.name, uid: d.metadata.uid }, EVENT_REASONS.optedOut, 'Lull no longer manages this Deployment: the sidecar is removed and its Services point at the app again');
}

/** A Deployment that is gone: its Services' routes and interceptor slices go too. */
export async function forgetDeleted(ctx: Context, namespace: string, name: string): Promise<void> {
  for (const service of ctx.ports.servicesRouting(appKey(namespace, name))) await removeRoute(ctx, namespace, service, ctx.world.informers.services.get(namespace, service));
}
