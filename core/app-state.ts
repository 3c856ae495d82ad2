// The state Lull wrote on a Deployment and the phase it implies: one reading for the reconciler and the CLI.
import { APP_STATES, STATE, type AppState } from './annotations.ts';
import type { DeploymentObj } from './objects.ts';

/** The state Lull wrote, or undefined when none (or an unknown value) is there. */
export function stateOf(deployment: DeploymentObj): AppState | undefined {
  const value = deployment.metadata.annotations?.[STATE];
  return (APP_STATES as readonly string[]).includes(value ?? '') ? (value as AppState) : undefined;
}

/**
 * asleep: at zero behind the interceptor. wake-pending: the interceptor said waking but nothing scaled
 * yet. waking: replicas are back (the interceptor, a user, or a GitOps re-apply) and the app is coming
 * up. awake: everything else.
 */
export type Phase = 'asleep' | 'wake-pending' | 'waking' | 'awake';

export function phaseOf(deployment: DeploymentObj): Phase {
  const state = stateOf(deployment);
  if (state === 'sleeping') return deployment.replicas === 0 ? 'asleep' : 'waking';
  if (state === 'waking') return deployment.replicas === 0 ? 'wake-pending' : 'waking';
  return 'awake';
}
