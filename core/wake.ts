// Waking, as every part that wakes an app does it (the interceptor, the reconciler, `lull wake`): how
// many replicas, and the guarded patch that makes it happen once per app however many try at once.
import type { V1Deployment } from '@kubernetes/client-node';
import { parseAnnotations, REPLICAS_BEFORE_SLEEP, STATE, type AppSettings } from './annotations.ts';
import { clusterSettings } from './cluster-defaults.ts';
import { isStatus } from './kube-client.ts';
import { autoscaleSettings, wakeReplicasFor } from './autoscale-settings.ts';

export interface PatchOp {
  op: 'test' | 'replace' | 'add';
  path: string;
  value: unknown;
}

/** JSON-pointer escaping of an annotation key ("lull.dev/state" → "lull.dev~1state"). */
function annotationPath(key: string): string {
  return `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/**
 * An autoscaled app: enough replicas for the `held` connections at its target (200 held, target 10: 20).
 * Otherwise the remembered replica count, else `lull.dev/wake-replicas` (default 1; `settings` when already parsed).
 */
export function wakeReplicas(annotations: Record<string, string> | undefined, settings?: AppSettings, held = 0): number {
  const autoscale = autoscaleSettings(annotations);
  if (autoscale !== undefined) return wakeReplicasFor(autoscale, held);
  const remembered = annotations?.[REPLICAS_BEFORE_SLEEP];
  if (remembered !== undefined && /^\d+$/.test(remembered) && Number(remembered) >= 1) return Number(remembered);
  return (settings ?? parseAnnotations(annotations, clusterSettings()).settings).wakeReplicas;
}

/**
 * For the scale subresource: the `test` makes the apiserver refuse it unless the app is still at zero,
 * so of several interceptors (or an HPA, or a user) exactly one scales it up. autoscaling/v1 omits
 * `replicas` when it is 0, so "at zero" is "the spec is empty", and the count is added, not replaced.
 */
export function scalePatch(replicas: number): PatchOp[] {
  return [
    { op: 'test', path: '/spec', value: {} },
    { op: 'add', path: '/spec/replicas', value: replicas },
  ];
}

/** state=waking, only over state=sleeping: never over the reconciler's `awake`. */
export function wakingPatch(): PatchOp[] {
  const path = annotationPath(STATE);
  return [
    { op: 'test', path, value: 'sleeping' },
    { op: 'replace', path, value: 'waking' },
  ];
}

/** Whether the app is at zero and needs this interceptor to scale it. */
export function needsScale(deployment: Pick<V1Deployment, 'spec'>): boolean {
  return (deployment.spec?.replicas ?? 1) === 0;
}

/** A failed JSON-patch `test` (someone else scaled or marked it first) comes back as 422 (Invalid) or, from some versions, 409. */
export function isTestFailure(err: unknown): boolean {
  return isStatus(err, 409, 422);
}
