// Opt-out: a Deployment without anything Lull added, restored from what Lull recorded.
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { ADDED_PULL_SECRETS, INJECTED, ORIGINAL_GRACE_PERIOD } from '../core/annotations.ts';
import { SIDECAR_CONTAINER_NAME } from '../core/sidecar-contract.ts';
import { isDrainHook } from './drain-hook.ts';
import { parseGraceRecord } from './grace-period.ts';

export interface Stripped {
  deployment: V1Deployment;
  /** The sidecar that was removed, and where it was, so an unchanged one can be put back as it was. */
  sidecar?: { container: V1Container; index: number };
}

/** Deletes annotation keys, and the map itself once empty (the apiserver never stores an empty one). */
export function deleteAnnotations(metadata: { annotations?: Record<string, string> } | undefined, keys: readonly string[]): void {
  if (metadata?.annotations === undefined) return;
  for (const key of keys) delete metadata.annotations[key];
  if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
}

/**
 * A copy in which only the annotations and the pod spec are new objects: those are all Lull changes,
 * and managedFields, status and the last-applied annotation are not worth cloning on every admission.
 */
export function editableCopy(deployment: V1Deployment): V1Deployment {
  const { metadata, spec } = deployment;
  return {
    ...deployment,
    metadata: { ...metadata, ...(metadata?.annotations ? { annotations: { ...metadata.annotations } } : {}) },
    ...(spec
      ? { spec: { ...spec, template: { ...spec.template, ...(spec.template?.spec ? { spec: structuredClone(spec.template.spec) } : {}) } } }
      : {}),
  };
}

/** Pure: returns a copy without Lull's sidecar, drain hooks, grace-period change and annotations. */
export function strip(deployment: V1Deployment): Stripped {
  const copy = editableCopy(deployment);
  const record = parseGraceRecord(copy.metadata?.annotations?.[ORIGINAL_GRACE_PERIOD]);
  const addedSecrets = (copy.metadata?.annotations?.[ADDED_PULL_SECRETS] ?? '').split(',').filter(Boolean);
  deleteAnnotations(copy.metadata, [INJECTED, ORIGINAL_GRACE_PERIOD, ADDED_PULL_SECRETS]);
  const spec = copy.spec?.template?.spec;
  if (spec === undefined) return { deployment: copy };

  let sidecar: Stripped['sidecar'];
  const index = (spec.initContainers ?? []).findIndex((c) => c.name === SIDECAR_CONTAINER_NAME);
  if (index >= 0) {
    sidecar = { container: spec.initContainers![index]!, index };
    spec.initContainers!.splice(index, 1);
    if (spec.initContainers!.length === 0) delete spec.initContainers;
  }

  for (const container of spec.containers ?? []) {
    if (!isDrainHook(container.lifecycle?.preStop)) continue;
    delete container.lifecycle!.preStop;
    if (Object.keys(container.lifecycle!).length === 0) delete container.lifecycle;
  }

  if (addedSecrets.length > 0 && spec.imagePullSecrets !== undefined) {
    spec.imagePullSecrets = spec.imagePullSecrets.filter((s) => !addedSecrets.includes(s.name ?? ''));
    if (spec.imagePullSecrets.length === 0) delete spec.imagePullSecrets;
  }

  // Only undo Lull's own value: a grace period the user changed since is theirs.
  if (record !== undefined && spec.terminationGracePeriodSeconds === record.set) {
    if (record.was === null) delete spec.terminationGracePeriodSeconds;
    else spec.terminationGracePeriodSeconds = record.was;
  }
  return { deployment: copy, sidecar };
}
