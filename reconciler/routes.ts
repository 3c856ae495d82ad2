// The interceptor side of routing, written: a Service's route records (the one table the interceptor
// trusts, in Lull's namespace), its display copy `lull.dev/interceptor-ports`, and its interceptor
// EndpointSlice, kept in step with the Service's ports and the interceptor pods.
import { INTERCEPTOR_PORTS } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import { formatInterceptorRoute, INTERCEPTOR_PORT_RANGE, sameRecord, servicePortKey, type InterceptorRoute, type RouteRecord } from '../core/interceptor-contract.ts';
import { isStatus } from '../core/kube-client.ts';
import type { Context } from './context.ts';
import type { ServiceObj, SliceObj } from '../core/objects.ts';
import { allocate, interceptablePorts } from './ports.ts';
import { buildSlice, isInterceptorSlice, sliceName, sliceUpToDate } from './slices.ts';
import { appKey } from './world.ts';

const serviceKey = (s: ServiceObj) => appKey(s.metadata.namespace ?? '', s.metadata.name);
/** A create refused because the port turned out taken: allocate again, this many times at most. */
const ALLOCATION_ATTEMPTS = 5;

/** The route in effect for `service` on behalf of Deployment `deployment`, its records written first when missing or stale. */
export async function ensureRoute(ctx: Context, deployment: string, service: ServiceObj): Promise<InterceptorRoute | undefined> {
  const key = serviceKey(service);
  let route: InterceptorRoute | undefined;
  for (let attempt = 1; ; attempt++) {
    const current = ctx.ports.routeOf(key);
    const hint = ctx.ports.lowestFree(INTERCEPTOR_PORT_RANGE.first);
    route = allocate(deployment, service.ports, current, ctx.ports.takenByOthers(key), INTERCEPTOR_PORT_RANGE, hint);
    if (route === undefined) throw lullError(errors.interceptorPortsExhausted, key, INTERCEPTOR_PORT_RANGE.first, INTERCEPTOR_PORT_RANGE.last);
    if (await writeRecords(ctx, service, route)) break;
    if (attempt >= ALLOCATION_ATTEMPTS) throw lullError(errors.interceptorPortsExhausted, key, INTERCEPTOR_PORT_RANGE.first, INTERCEPTOR_PORT_RANGE.last);
  }
  await showRoute(ctx, service, Object.keys(route.ports).length === 0 ? undefined : route);
  return Object.keys(route.ports).length === 0 ? undefined : route;
}

/** Pure: the records that say `route` for `service`. */
export function recordsFor(service: ServiceObj, route: InterceptorRoute): RouteRecord[] {
  return interceptablePorts(service.ports).flatMap((p) => {
    const port = route.ports[servicePortKey(p)];
    return port === undefined ? [] : [{ port, namespace: service.metadata.namespace ?? '', service: service.metadata.name, deployment: route.deployment, servicePort: servicePortKey(p), portName: p.name ?? '' }];
  });
}

/** Writes what differs; false when a port turned out to be another Service's (the caller allocates again). */
async function writeRecords(ctx: Context, service: ServiceObj, route: InterceptorRoute): Promise<boolean> {
  const key = serviceKey(service);
  const wanted = recordsFor(service, route);
  for (const record of wanted) {
    const known = ctx.ports.record(record.port);
    if (known && sameRecord(known, record)) continue;
    if (known) {
      // This Service's already (takenByOthers said so): a new Deployment or port name.
      await ctx.api.replaceRecord(record);
      ctx.ports.wrote(record.port, record);
      continue;
    }
    try {
      await ctx.api.createRecord(record);
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      // There already: the cache is behind. Ours (an earlier write) is adopted; anyone else's is theirs.
      const stored = await ctx.api.getRecord(record.port);
      ctx.ports.observe(record.port, stored);
      if (stored === undefined || stored === null || `${stored.namespace}/${stored.service}` !== key || stored.servicePort !== record.servicePort) return false;
      if (!sameRecord(stored, record)) await ctx.api.replaceRecord(record);
    }
    ctx.ports.wrote(record.port, record);
    ctx.logger.info({ service: key, port: record.port, servicePort: record.servicePort, deployment: record.deployment }, 'interceptor port allocated');
  }
  // Ports of Service ports that are gone, or that moved: free again.
  const kept = new Set(wanted.map((r) => r.port));
  for (const stale of ctx.ports.recordsOf(key)) {
    if (kept.has(stale.port)) continue;
    await ctx.api.deleteRecord(stale.port);
    ctx.ports.wrote(stale.port, undefined);
  }
  return true;
}

/** The display copy on the Service, for people (`kubectl describe`): never read back by Lull. */
async function showRoute(ctx: Context, service: ServiceObj, route: InterceptorRoute | undefined): Promise<void> {
  const text = route === undefined ? undefined : formatInterceptorRoute(route);
  if (ctx.ports.shows(serviceKey(service), service.metadata.annotations?.[INTERCEPTOR_PORTS], text)) return;
  try {
    await ctx.api.annotateService(service.metadata.namespace ?? '', service.metadata.name, { [INTERCEPTOR_PORTS]: text ?? null });
    ctx.ports.showed(serviceKey(service), text);
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
  }
}

/**
 * Removes a Service's route: its records (the ports become free), its display copy and, unless already
 * done, its interceptor slice. `service` is undefined when the Service itself is gone.
 */
export async function removeRoute(ctx: Context, namespace: string, name: string, service: ServiceObj | undefined, options: { slice: boolean } = { slice: true }): Promise<void> {
  if (options.slice && service !== undefined) await deleteSlice(ctx, service);
  for (const record of ctx.ports.recordsOf(appKey(namespace, name))) {
    await ctx.api.deleteRecord(record.port);
    ctx.ports.wrote(record.port, undefined);
  }
  if (service !== undefined) await showRoute(ctx, service, undefined);
}

export function interceptorSlice(ctx: Context, service: ServiceObj): SliceObj | undefined {
  return ctx.world.slices(service.metadata.namespace ?? '', service.metadata.name).find((s) => isInterceptorSlice(s) && s.metadata.name === sliceName(service.metadata.name));
}

/** Creates or updates the interceptor slice so it matches the route and today's interceptor pods; only on a real change. */
export async function syncSlice(ctx: Context, service: ServiceObj, route: InterceptorRoute): Promise<void> {
  const desired = buildSlice(service, route, ctx.interceptors());
  const { namespace, name } = desired.metadata;
  const existing = ctx.sliceWrites.current(namespace, name, interceptorSlice(ctx, service));
  if (existing !== undefined && sliceUpToDate(existing, desired)) return;
  let resourceVersion = existing?.metadata.resourceVersion;
  if (existing === undefined) {
    try {
      ctx.sliceWrites.wrote(await ctx.api.createSlice(desired));
      ctx.metrics.sliceWrites.inc({ operation: 'create' });
      return;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      // Written by an earlier reconcile (or leader) and not in the cache yet.
      const stored = await ctx.api.getSlice(namespace, name);
      if (stored === undefined || sliceUpToDate(stored, desired)) return;
      resourceVersion = stored.metadata.resourceVersion;
    }
  }
  ctx.sliceWrites.wrote(await ctx.api.replaceSlice(desired, resourceVersion!));
  ctx.metrics.sliceWrites.inc({ operation: 'update' });
}

export async function deleteSlice(ctx: Context, service: ServiceObj): Promise<void> {
  for (const slice of ctx.world.slices(service.metadata.namespace ?? '', service.metadata.name)) {
    if (!isInterceptorSlice(slice)) continue;
    ctx.sliceWrites.deleted(slice.metadata.namespace ?? '', slice.metadata.name);
    if (await ctx.api.deleteSlice(slice.metadata.namespace ?? '', slice.metadata.name)) ctx.metrics.sliceWrites.inc({ operation: 'delete' });
  }
}

/** Every interceptor slice of these Services, so a wake or opt-out knows what is left. */
export function slicesLeft(ctx: Context, services: readonly ServiceObj[]): ServiceObj[] {
  return services.filter((s) => ctx.world.slices(s.metadata.namespace ?? '', s.metadata.name).some(isInterceptorSlice));
}
