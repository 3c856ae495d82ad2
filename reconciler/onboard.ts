// Onboarding: an opted-in Deployment without the sidecar, and Services not yet pointed at it, are
// re-submitted through the webhook (a touch), so nobody has to re-apply them.
import { STATE } from '../core/annotations.ts';
import { formatDuration } from '../core/duration.ts';
import { EVENT_REASONS } from '../core/events.ts';
import { stateOf, type App } from './app.ts';
import type { Context } from './context.ts';
import type { DeploymentObj, ServiceObj } from '../core/objects.ts';
import { touch, touched } from './touch.ts';

export const SIDECAR_PORT_NAME = /^lull-\d+$/;

/** The sidecar port name every backend puts in front of `target`, if they all agree (as the webhook requires). */
function sidecarTarget(target: number | string, backends: readonly DeploymentObj[]): string | undefined {
  let agreed: string | undefined;
  for (const backend of backends) {
    const appPort = typeof target === 'number' ? target : backend.portNames[target];
    const name = appPort === undefined ? undefined : backend.fronted[String(appPort)];
    if (name === undefined || (agreed !== undefined && name !== agreed)) return undefined;
    agreed = name;
  }
  return agreed;
}

/**
 * Pure: the webhook would point a port of this Service at the sidecar if it saw the Service again
 * (every Deployment it selects carries the sidecar and has rolled out), and it has not yet.
 */
export function sidecarRoutingPending(service: ServiceObj, backends: readonly DeploymentObj[]): boolean {
  if (service.type === 'ExternalName' || backends.length === 0) return false;
  if (backends.some((b) => !b.injected || !b.rolledOut)) return false;
  return service.ports.some((port) => {
    if (port.protocol !== 'TCP') return false;
    const target = port.targetPort ?? port.port;
    if (typeof target === 'string' && SIDECAR_PORT_NAME.test(target)) return false;
    return sidecarTarget(target, backends) !== undefined;
  });
}

/** Pure: some port of the Service reaches the app through the sidecar, so the sidecar sees its traffic. */
export function sidecarRouted(service: ServiceObj): boolean {
  return service.ports.some((p) => p.protocol === 'TCP' && typeof p.targetPort === 'string' && SIDECAR_PORT_NAME.test(p.targetPort));
}

/**
 * Gets an opted-in app onto the sidecar. True once it carries it (and has a state), so the reconcile
 * can go on to idle detection and routing.
 */
export async function onboard(ctx: Context, app: App): Promise<boolean> {
  const d = app.deployment;
  if (!d.injected) {
    // The webhook leaves an app with no TCP port as it is (nothing could wake it): touching would loop.
    if (!d.hasTcpPort) {
      app.memory.blocked = 'no container has a TCP port';
      return false;
    }
    await touch(ctx, app, 'onboard');
    return false;
  }
  touched(app);
  if (stateOf(d) === undefined) {
    app.deployment = await ctx.api.annotateDeployment(app.namespace, app.name, { [STATE]: 'awake' }, d.metadata.resourceVersion);
    ctx.metrics.onboards.inc();
    ctx.record(
      { namespace: app.namespace, name: app.name, uid: d.metadata.uid },
      EVENT_REASONS.onboarded,
      `Lull manages this Deployment: it sleeps after ${formatDuration(app.settings.idleAfterMs)} without traffic and wakes on the first request`,
    );
  }
  for (const service of ctx.world.servicesSelecting(d)) {
    if (sidecarRoutingPending(service, ctx.world.deploymentsSelectedBy(service))) {
      await touch(ctx, app, 'route', { name: service.metadata.name, ...(service.metadata.annotations ? { annotations: service.metadata.annotations } : {}) });
    } else {
      touched(app, service.metadata.name);
    }
  }
  return true;
}
