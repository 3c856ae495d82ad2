// Service routing: targetPorts that reach a fronted app port go to the sidecar's port, and come back on opt-out.
import type { V1Service } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { ORIGINAL_TARGET_PORTS } from '../core/annotations.ts';
import { selects, type Backend } from './backends.ts';
import { deleteAnnotations } from './strip.ts';

type Target = number | string;
/** Service port number → the targetPort it had before Lull. */
type Originals = Record<string, Target>;

const SIDECAR_PORT_NAME = /^lull-\d+$/;

export function parseOriginals(value: string | undefined): Originals {
  if (value === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, Target] => typeof entry[1] === 'number' || (typeof entry[1] === 'string' && entry[1] !== '')),
    );
  } catch {
    return {};
  }
}

function isTcp(protocol: string | undefined): boolean {
  return (protocol ?? 'TCP') === 'TCP';
}

/** Service ports (by number) that Lull currently points at a sidecar. */
export function routedPorts(service: V1Service | undefined): Set<number> {
  const originals = parseOriginals(service?.metadata?.annotations?.[ORIGINAL_TARGET_PORTS]);
  const routed = new Set<number>();
  for (const port of service?.spec?.ports ?? []) {
    const target = port.targetPort;
    if (isTcp(port.protocol) && typeof target === 'string' && SIDECAR_PORT_NAME.test(target) && String(port.port) in originals) routed.add(port.port);
  }
  return routed;
}

/** Pure: the Service with every targetPort Lull rewrote put back, and no record left. */
export function unroute(service: V1Service): V1Service {
  const copy = structuredClone(service);
  const originals = parseOriginals(copy.metadata?.annotations?.[ORIGINAL_TARGET_PORTS]);
  for (const port of copy.spec?.ports ?? []) {
    const original = originals[String(port.port)];
    // A targetPort that is no longer Lull's was changed by the user since: it stays theirs.
    if (original !== undefined && isTcp(port.protocol) && typeof port.targetPort === 'string' && SIDECAR_PORT_NAME.test(port.targetPort)) {
      port.targetPort = original;
    }
  }
  deleteAnnotations(copy.metadata, [ORIGINAL_TARGET_PORTS]);
  return copy;
}

/** The sidecar port name every selected backend puts in front of `target`, if they all agree. */
function sidecarTarget(target: Target, backends: readonly Backend[]): string | undefined {
  let agreed: string | undefined;
  for (const backend of backends) {
    const appPort = typeof target === 'number' ? target : backend.portNames.get(target);
    const name = appPort === undefined ? undefined : backend.fronted.get(appPort);
    if (name === undefined || (agreed !== undefined && name !== agreed)) return undefined;
    agreed = name;
  }
  return agreed;
}

/**
 * Pure: the routed form of a Service. Starts from the unrouted form, so it is idempotent. A port is
 * pointed at the sidecar only when every Deployment the Service selects fronts it; a port not routed
 * before waits until those Deployments have rolled out, so no old pod (without the sidecar) loses
 * its traffic. `routedBefore`: ports Lull routes in the stored Service.
 */
export function route(service: V1Service, backends: readonly Backend[], routedBefore: ReadonlySet<number>): V1Service {
  const copy = unroute(service);
  const spec = copy.spec;
  const namespace = copy.metadata?.namespace;
  if (spec === undefined || spec.type === 'ExternalName') return copy;
  const selected = backends.filter((b) => b.namespace === namespace && selects(spec.selector, b.podLabels));
  if (selected.length === 0 || selected.some((b) => !b.injected)) return copy;
  const rolledOut = selected.every((b) => b.rolledOut);

  const originals: Originals = {};
  for (const port of spec.ports ?? []) {
    if (!isTcp(port.protocol)) continue;
    if (!rolledOut && !routedBefore.has(port.port)) continue;
    const target = port.targetPort ?? port.port;
    const name = sidecarTarget(target, selected);
    if (name === undefined) continue;
    originals[String(port.port)] = target;
    port.targetPort = name;
  }
  if (Object.keys(originals).length > 0) {
    const metadata = (copy.metadata ??= {});
    (metadata.annotations ??= {})[ORIGINAL_TARGET_PORTS] = JSON.stringify(originals);
  }
  return copy;
}

/** Pure: the patch for an admitted Service; `stored` is the oldObject on update. */
export function servicePatch(service: V1Service, stored: V1Service | undefined, backends: readonly Backend[]): Operation[] {
  const routedBefore = new Set([...routedPorts(stored), ...routedPorts(service)]);
  return jsonpatch.compare(service, route(service, backends, routedBefore));
}
