// The interceptor side of routing, written: a Service's `lull.dev/interceptor-ports` and its
// interceptor EndpointSlice, kept in step with the Service's ports and the interceptor pods.
import { INTERCEPTOR_PORTS } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import { formatInterceptorRoute, INTERCEPTOR_PORT_RANGE, parseInterceptorRoute, type InterceptorRoute } from '../core/interceptor-contract.ts';
import { isStatus } from '../core/kube-client.ts';
import type { Context } from './context.ts';
import type { ServiceObj, SliceObj } from './objects.ts';
import { allocate, sameRoute } from './ports.ts';
import { buildSlice, isInterceptorSlice, sliceName, sliceUpToDate } from './slices.ts';
import { appKey } from './world.ts';

const serviceKey = (s: ServiceObj) => appKey(s.metadata.namespace ?? '', s.metadata.name);

/** The route in effect for `service` on behalf of Deployment `deployment`, written first when missing or stale. */
export async function ensureRoute(ctx: Context, deployment: string, service: ServiceObj): Promise<InterceptorRoute | undefined> {
  const key = serviceKey(service);
  // A route just written counts as there, though the cache may not show it yet.
  const stored = parseInterceptorRoute(service.metadata.annotations);
  const current = ctx.ports.reserved(key) ?? stored;
  const hint = ctx.ports.lowestFree(INTERCEPTOR_PORT_RANGE.first);
  const route = allocate(deployment, service.ports, current, ctx.ports.takenByOthers(key), INTERCEPTOR_PORT_RANGE, hint);
  if (route === undefined) throw lullError(errors.interceptorPortsExhausted, key, INTERCEPTOR_PORT_RANGE.first, INTERCEPTOR_PORT_RANGE.last);
  if (Object.keys(route.ports).length === 0) return undefined;
  if (sameRoute(current, route)) return route;
  // Reserved before the write, so nothing allocated meanwhile can take these ports. A merge patch of
  // one annotation clobbers nothing else; a changed port list is seen on the next reconcile.
  const createdAt = service.metadata.creationTimestamp ?? '';
  ctx.ports.reserve(key, createdAt, route);
  try {
    await ctx.api.annotateService(service.metadata.namespace ?? '', service.metadata.name, { [INTERCEPTOR_PORTS]: formatInterceptorRoute(route) });
  } catch (err) {
    // Not written: the reservation must not pass for what the Service says.
    ctx.ports.remove(key);
    ctx.ports.observe(key, createdAt, stored ? Object.values(stored.ports) : undefined);
    throw err;
  }
  ctx.logger.info({ service: key, route }, stored ? 'interceptor ports changed' : 'interceptor ports allocated');
  return route;
}

/** Removes the route annotation (its ports become free) and, unless already done, the interceptor slice. */
export async function removeRoute(ctx: Context, service: ServiceObj, options: { slice: boolean } = { slice: true }): Promise<void> {
  if (options.slice) await deleteSlice(ctx, service);
  if (service.metadata.annotations?.[INTERCEPTOR_PORTS] === undefined) return;
  try {
    await ctx.api.annotateService(service.metadata.namespace ?? '', service.metadata.name, { [INTERCEPTOR_PORTS]: null });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
  ctx.ports.remove(serviceKey(service));
}

export function interceptorSlice(ctx: Context, service: ServiceObj): SliceObj | undefined {
  return ctx.world.slices(service.metadata.namespace ?? '', service.metadata.name).find((s) => isInterceptorSlice(s) && s.metadata.name === sliceName(service.metadata.name));
}

/** Creates or updates the interceptor slice so it matches the route and today's interceptor pods. */
export async function syncSlice(ctx: Context, service: ServiceObj, route: InterceptorRoute): Promise<void> {
  const desired = buildSlice(service, route, ctx.interceptors());
  const existing = interceptorSlice(ctx, service);
  if (existing !== undefined && sliceUpToDate(existing, desired)) return;
  let resourceVersion = existing?.metadata.resourceVersion;
  if (existing === undefined) {
    try {
      await ctx.api.createSlice(desired);
      ctx.metrics.sliceWrites.inc({ operation: 'create' });
      return;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      // Written by an earlier reconcile and not in the cache yet.
      const stored = await ctx.api.getSlice(desired.metadata.namespace, desired.metadata.name);
      if (stored === undefined || sliceUpToDate(stored, desired)) return;
      resourceVersion = stored.metadata.resourceVersion;
    }
  }
  await ctx.api.replaceSlice(desired, resourceVersion!);
  ctx.metrics.sliceWrites.inc({ operation: 'update' });
}

export async function deleteSlice(ctx: Context, service: ServiceObj): Promise<void> {
  for (const slice of ctx.world.slices(service.metadata.namespace ?? '', service.metadata.name)) {
    if (!isInterceptorSlice(slice)) continue;
    if (await ctx.api.deleteSlice(slice.metadata.namespace ?? '', slice.metadata.name)) ctx.metrics.sliceWrites.inc({ operation: 'delete' });
  }
}

/** Every interceptor slice of these Services, so a wake or opt-out knows what is left. */
export function slicesLeft(ctx: Context, services: readonly ServiceObj[]): ServiceObj[] {
  return services.filter((s) => ctx.world.slices(s.metadata.namespace ?? '', s.metadata.name).some(isInterceptorSlice));
}
