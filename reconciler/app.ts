// One app as a reconcile sees it, and the pure readings of its Deployment's annotations.
import { clusterSettings } from '../core/cluster-defaults.ts';
import { APP_STATES, parseAnnotations, REPLICAS_BEFORE_SLEEP, STATE, type AppSettings, type AppState } from '../core/annotations.ts';
import type { AppMemory } from './context.ts';
import type { DeploymentObj } from './objects.ts';

export interface App {
  key: string;
  namespace: string;
  name: string;
  deployment: DeploymentObj;
  settings: AppSettings;
  memory: AppMemory;
  /** Ask for another reconcile of this app at `at` (epoch ms); the earliest request of a reconcile wins. */
  later: (at: number) => void;
}

export function settingsOf(deployment: DeploymentObj): AppSettings {
  return parseAnnotations(deployment.metadata.annotations, clusterSettings()).settings;
}

/** The state Lull wrote, or undefined when none (or an unknown value) is there. */
export function stateOf(deployment: DeploymentObj): AppState | undefined {
  const value = deployment.metadata.annotations?.[STATE];
  return (APP_STATES as readonly string[]).includes(value ?? '') ? (value as AppState) : undefined;
}

/** Replicas to wake to: what was there before sleeping, else wake-replicas. */
export function wakeReplicas(deployment: DeploymentObj, settings: AppSettings): number {
  const remembered = Number(deployment.metadata.annotations?.[REPLICAS_BEFORE_SLEEP]);
  return Number.isInteger(remembered) && remembered > 0 ? remembered : settings.wakeReplicas;
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
