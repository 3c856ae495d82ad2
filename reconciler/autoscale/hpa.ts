// HorizontalPodAutoscalers, as far as coexistence needs them: which Deployment each one scales.
import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Meta } from '../../core/objects.ts';

export interface HpaObj {
  metadata: Pick<Meta, 'name' | 'namespace' | 'resourceVersion'>;
  /** spec.scaleTargetRef. */
  target: { apiVersion?: string; kind: string; name: string };
}

export const HPA_PATH = '/apis/autoscaling/v2/horizontalpodautoscalers';

export function trimHpa(h: V2HorizontalPodAutoscaler): HpaObj {
  const ref = h.spec?.scaleTargetRef;
  return {
    metadata: { name: h.metadata?.name ?? '', namespace: h.metadata?.namespace ?? '', resourceVersion: h.metadata?.resourceVersion ?? '' },
    target: { ...(ref?.apiVersion ? { apiVersion: ref.apiVersion } : {}), kind: ref?.kind ?? '', name: ref?.name ?? '' },
  };
}

/** Pure: the HPA that scales Deployment `name` (apps group), or undefined. */
export function hpaFor(hpas: readonly HpaObj[], name: string): HpaObj | undefined {
  return hpas.find((h) => h.target.kind === 'Deployment' && h.target.name === name && (h.target.apiVersion === undefined || h.target.apiVersion.startsWith('apps/')));
}
