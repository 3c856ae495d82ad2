// The JSON patch that takes an admitted Deployment to its desired form (a diff, so it is empty when nothing changes).
import type { V1Deployment } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { inject, type InjectOptions } from './inject.ts';
import type { OptIn } from './opt-in.ts';
import { strip } from './strip.ts';

export function desiredDeployment(deployment: V1Deployment, decision: OptIn, options: InjectOptions): V1Deployment {
  if (decision === 'inject') return inject(deployment, options);
  if (decision === 'strip') return strip(deployment).deployment;
  return deployment;
}

/** The diff of one subtree, with paths from the document's root. */
function diffAt(prefix: string, before: object | undefined, after: object | undefined): Operation[] {
  if (before === after) return [];
  if (before === undefined) return [{ op: 'add', path: prefix, value: after }];
  if (after === undefined) return [{ op: 'remove', path: prefix }];
  return jsonpatch.compare(before, after).map((op) => ({ ...op, path: prefix + op.path }));
}

/** Pure. Lull changes only the annotations and the pod spec, so only those are compared. */
export function deploymentPatch(deployment: V1Deployment, decision: OptIn, options: InjectOptions): Operation[] {
  if (decision === 'leave') return [];
  const desired = desiredDeployment(deployment, decision, options);
  return [
    ...diffAt('/metadata/annotations', deployment.metadata?.annotations, desired.metadata?.annotations),
    ...diffAt('/spec/template/spec', deployment.spec?.template?.spec, desired.spec?.template?.spec),
  ];
}
