// Opt-in: the Deployment with the sidecar, drain hooks, room for the drain, and what was changed recorded.
import type { V1Deployment } from '@kubernetes/client-node';
import { ADDED_PULL_SECRETS, INJECTED, ORIGINAL_GRACE_PERIOD } from '../core/annotations.ts';
import { SIDECAR_DRAIN_MAX_MS } from '../core/sidecar-contract.ts';
import { covers } from './covers.ts';
import { drainHook } from './drain-hook.ts';
import { formatGraceRecord, requiredGraceSeconds } from './grace-period.ts';
import { planPorts } from './ports.ts';
import { sidecarContainer, type SidecarOptions } from './sidecar.ts';
import { strip } from './strip.ts';

export interface InjectOptions extends SidecarOptions {
  /** Recorded in `lull.dev/injected`. */
  version: string;
  /** Secrets (in the app's namespace) to pull the sidecar's image with; the ones the pod lacks are added and recorded. */
  pullSecrets?: readonly string[];
}

// The apiserver's default when terminationGracePeriodSeconds is unset.
const DEFAULT_GRACE_SECONDS = 30;

/**
 * Pure: the injected form of a Deployment. It always starts from the stripped form, so injecting an
 * injected Deployment gives the same object, and a new version or changed ports rebuild the sidecar.
 */
export function inject(deployment: V1Deployment, options: InjectOptions): V1Deployment {
  const { deployment: copy, sidecar: previous } = strip(deployment);
  const spec = copy.spec?.template?.spec;
  if (spec === undefined) return copy;

  const plan = planPorts(spec);
  // Nothing to front means nothing to wake on: the app stays as it is (the admission says so).
  if (plan.fronted.length === 0) return copy;
  const built = sidecarContainer(spec, plan, options);
  // Keep the stored sidecar when it still says everything we would write (it carries apiserver defaults).
  const sidecar = previous !== undefined && covers(previous.container, built) ? previous.container : built;
  const initContainers = spec.initContainers ?? [];
  initContainers.splice(previous?.index ?? initContainers.length, 0, sidecar);
  spec.initContainers = initContainers;

  let hooked = false;
  for (const container of spec.containers ?? []) {
    // A user's own preStop is kept as it is (see webhook/README.md).
    if (container.lifecycle?.preStop !== undefined) continue;
    container.lifecycle = { ...container.lifecycle, preStop: drainHook(plan.adminPort, options.drainToken) };
    hooked = true;
  }

  const metadata = (copy.metadata ??= {});
  const annotations: Record<string, string> = (metadata.annotations ??= {});
  annotations[INJECTED] = options.version;
  const have = new Set((spec.imagePullSecrets ?? []).map((s) => s.name));
  const added = (options.pullSecrets ?? []).filter((name) => !have.has(name));
  if (added.length > 0) {
    spec.imagePullSecrets = [...(spec.imagePullSecrets ?? []), ...added.map((name) => ({ name }))];
    annotations[ADDED_PULL_SECRETS] = added.join(',');
  }
  const required = requiredGraceSeconds(options.drainMaxMs ?? SIDECAR_DRAIN_MAX_MS);
  const current = spec.terminationGracePeriodSeconds;
  if (hooked && (current ?? DEFAULT_GRACE_SECONDS) < required) {
    spec.terminationGracePeriodSeconds = required;
    annotations[ORIGINAL_GRACE_PERIOD] = formatGraceRecord({ was: current ?? null, set: required });
  }
  return copy;
}
