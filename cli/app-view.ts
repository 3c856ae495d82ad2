// What `lull status` says about one Deployment, read from its annotations and status only (pure), with
// the reconciler's own reading of the phase, so the CLI and the reconciler never disagree.
import type { V1Deployment } from '@kubernetes/client-node';
import { AWAKE_HOURS, IDLE_AFTER, INJECTED, parseAnnotations, SLEPT_AT, SYSTEM_NAMESPACE, type AppSettings } from '../core/annotations.ts';
import { membership } from '../core/opt-in.ts';
import { phaseOf, stateOf } from '../core/app-state.ts';
import { trimDeployment } from '../core/objects.ts';

/**
 * The states Lull writes, plus `onboarding`: opted in, but the sidecar or the state is not there yet, and
 * `unmanaged`: not opted in, though its lull.dev/ annotations say someone meant it to be.
 */
export type DisplayState = 'awake' | 'sleeping' | 'waking' | 'onboarding' | 'unmanaged';

export interface AppView {
  namespace: string;
  name: string;
  state: DisplayState;
  /** spec.replicas and ready pods. */
  replicas: number;
  ready: number;
  settings: AppSettings;
  /** Which settings come from the Deployment's own annotations (the rest are the cluster's defaults). */
  annotated: { idleAfter: boolean };
  sleptAt?: number;
  /** The sidecar version the webhook injected. */
  injected?: string;
  /** Its lull.dev/ annotations, for the schedule (cli/schedule-line.ts). */
  annotations?: Record<string, string>;
}

/** Pure: Lull manages it (the annotation, or its namespace's label). */
export function isManaged(deployment: V1Deployment, namespaceLabels: Record<string, string> | undefined, ownNamespace = SYSTEM_NAMESPACE): boolean {
  return membership(deployment.metadata?.namespace, deployment.metadata?.annotations, namespaceLabels, ownNamespace) === 'in';
}

/** Pure. */
export function displayState(deployment: V1Deployment): DisplayState {
  const trimmed = trimDeployment(deployment);
  if (!trimmed.injected || stateOf(trimmed) === undefined) return 'onboarding';
  const phase = phaseOf(trimmed);
  return phase === 'asleep' ? 'sleeping' : phase === 'awake' ? 'awake' : 'waking';
}

/** Pure. */
export function appView(deployment: V1Deployment, defaults: AppSettings): AppView {
  const annotations = deployment.metadata?.annotations ?? {};
  const sleptAt = annotations[SLEPT_AT] ? Date.parse(annotations[SLEPT_AT]) : NaN;
  const view: AppView = {
    namespace: deployment.metadata?.namespace ?? '',
    name: deployment.metadata?.name ?? '',
    state: displayState(deployment),
    replicas: deployment.spec?.replicas ?? 1,
    ready: deployment.status?.readyReplicas ?? 0,
    settings: parseAnnotations(annotations, defaults).settings,
    annotated: { idleAfter: annotations[IDLE_AFTER] !== undefined },
  };
  if (Number.isFinite(sleptAt)) view.sleptAt = sleptAt;
  if (annotations[INJECTED]) view.injected = annotations[INJECTED];
  if (annotations[AWAKE_HOURS]) view.annotations = annotations;
  return view;
}
