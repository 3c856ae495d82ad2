// One app as a reconcile sees it, and the pure readings of its Deployment's annotations (the state and
// phase are core/app-state.ts's, shared with the CLI).
import { clusterSettings } from '../core/cluster-defaults.ts';
import { parseAnnotations, type AppSettings } from '../core/annotations.ts';
import { wakeReplicas as replicasToWake } from '../core/wake.ts';
import type { DeploymentObj } from '../core/objects.ts';
import { withSleepRequest } from '../core/sleep-request.ts';
import type { AppMemory } from './context.ts';

export { phaseOf, stateOf, type Phase } from '../core/app-state.ts';

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
  const { annotations } = deployment.metadata;
  return withSleepRequest(parseAnnotations(annotations, clusterSettings()).settings, annotations);
}

/** Replicas to wake to: what was there before sleeping, else wake-replicas. */
export const wakeReplicas = (deployment: DeploymentObj, settings: AppSettings): number => replicasToWake(deployment.metadata.annotations, settings);
