// What `lull status` says about request-based scaling (pure): the target, the load the sidecars saw in
// their last second, the replicas that load calls for, and the HPA it stands aside for.
import type { V1Deployment } from '@kubernetes/client-node';
import { autoscaleSettings, replicasForLoad } from '../core/autoscale-settings.ts';
import { errors, lullError } from '../core/errors.ts';
import type { AppProblem } from '../core/app-problems.ts';
import type { Activity } from './activity.ts';

export interface AutoscaleStatus {
  metric: 'concurrency' | 'rps';
  target: number;
  minReplicas: number;
  maxReplicas: number;
  /** The pods' last full second, summed, in the target's unit. */
  observed?: number;
  /** What that second calls for (min/max applied; the reconciler smooths it over its windows). */
  desired?: number;
  /** The HPA that scales it instead. */
  hpa?: string;
}

export interface HpaRef {
  metadata?: { name?: string; namespace?: string };
  spec?: { scaleTargetRef?: { kind: string; name: string; apiVersion?: string } };
}

/** Pure: the HPA that scales `deployment`, by name. */
export function hpaOf(deployment: V1Deployment, hpas: readonly HpaRef[]): string | undefined {
  const ns = deployment.metadata?.namespace;
  const hpa = hpas.find((h) => h.metadata?.namespace === ns && h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata?.name);
  return hpa?.metadata?.name;
}

/** Pure. */
export function autoscaleStatus(deployment: V1Deployment, activity: Activity | undefined, hpa: string | undefined): AutoscaleStatus | undefined {
  const s = autoscaleSettings(deployment.metadata?.annotations);
  if (s === undefined) return undefined;
  const out: AutoscaleStatus = { metric: s.metric, target: s.target, minReplicas: s.minReplicas, maxReplicas: s.maxReplicas };
  if (hpa !== undefined) out.hpa = hpa;
  if (activity?.load) {
    const observed = s.metric === 'concurrency' ? activity.load.concurrency : activity.load.rps;
    out.observed = Math.round(observed * 10) / 10;
    out.desired = Math.min(s.maxReplicas, Math.max(1, s.minReplicas, replicasForLoad(observed, s.target)));
  }
  return out;
}

/** Pure: the line under the table when an HPA has the app's 1 → N. */
export function hpaProblem(hpa: string): AppProblem {
  return { code: errors.hpaPresent.code, effect: 'ignored', message: lullError(errors.hpaPresent, hpa).message };
}

/** Table cells: TARGET, OBSERVED, DESIRED. */
export function autoscaleCells(a: AutoscaleStatus | undefined): string[] {
  if (a === undefined) return ['-', '-', '-'];
  const unit = a.metric === 'concurrency' ? 'in flight' : 'rps';
  if (a.hpa !== undefined) return [`${a.target} ${unit}`, '-', `HPA ${a.hpa}`];
  return [`${a.target} ${unit}`, a.observed === undefined ? '-' : String(a.observed), a.desired === undefined ? '-' : `${a.desired} (${a.minReplicas}-${a.maxReplicas})`];
}
