// How the reconciler routes a sleeping app to the interceptor, and how the interceptor finds it
// (DESIGN.md "Routing" step 2). Both sides read and write through these functions only.
import { INTERCEPTOR_PORTS, SYSTEM_NAMESPACE } from './annotations.ts';

/** EndpointSlices the reconciler owns carry this managed-by label value. */
export const SLICE_MANAGED_BY = 'reconciler.lull.dev';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Interceptor pods: in Lull's namespace, selected by this label. */
export const INTERCEPTOR_NAMESPACE = SYSTEM_NAMESPACE;
export const INTERCEPTOR_LABELS = { 'app.kubernetes.io/name': 'lull-interceptor' } as const;
export const INTERCEPTOR_SELECTOR = 'app.kubernetes.io/name=lull-interceptor';
/** Health and metrics of an interceptor pod. */
export const INTERCEPTOR_ADMIN_PORT = 9940;

/** Ports handed out to (Service, port) pairs, unique cluster-wide; the interceptor listens on each. */
export const INTERCEPTOR_PORT_RANGE = { first: 20000, last: 29999 } as const;

/**
 * The Service annotation `lull.dev/interceptor-ports`: which Deployment the Service fronts and the
 * interceptor port allocated to each Service port (keyed by the port's name, or its number when unnamed).
 */
export interface InterceptorRoute {
  deployment: string;
  ports: Record<string, number>;
}

export function servicePortKey(port: { name?: string; port: number }): string {
  return port.name ? port.name : String(port.port);
}

export function formatInterceptorRoute(route: InterceptorRoute): string {
  const ports = Object.fromEntries(Object.entries(route.ports).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ deployment: route.deployment, ports });
}

/** The route in a Service's annotations, or undefined when absent or not well-formed. */
export function parseInterceptorRoute(annotations: Record<string, string> | undefined): InterceptorRoute | undefined {
  const text = annotations?.[INTERCEPTOR_PORTS];
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<InterceptorRoute>;
    if (typeof value.deployment !== 'string' || typeof value.ports !== 'object' || value.ports === null) return undefined;
    const ports: Record<string, number> = {};
    for (const [key, port] of Object.entries(value.ports)) {
      if (!Number.isInteger(port) || port < INTERCEPTOR_PORT_RANGE.first || port > INTERCEPTOR_PORT_RANGE.last) return undefined;
      ports[key] = port;
    }
    return { deployment: value.deployment, ports };
  } catch {
    return undefined;
  }
}
