// POST /validate: refuse bad user annotation values and user edits of what Lull writes.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import { isDeployment, isService, isWrite, objectOf, type AdmissionContext } from './admission-context.ts';
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from './admission-review.ts';
import { annotationProblems } from './annotation-problems.ts';
import { isExcludedNamespace } from './opt-in.ts';
import { API_WRITTEN, isLull, ownedEdits } from './ownership.ts';

/** Pure. Unknown kinds and operations are allowed untouched. */
export function validate(request: AdmissionRequest, context: Pick<AdmissionContext, 'ownNamespace' | 'trustedUsers'>): AdmissionResponse {
  const { uid } = request;
  if (!isWrite(request) || isExcludedNamespace(request.namespace, context.ownNamespace)) return allow(uid);
  if (!isDeployment(request) && !isService(request)) return allow(uid);
  const { object, old } = objectOf<V1Deployment | V1Service>(request);

  const refusals = isDeployment(request)
    ? annotationProblems(object.metadata?.annotations, old?.metadata?.annotations).map((p) => (p.at ? lullError(errors.invalidSchedule, p.key, p.value, p.at.token, p.at.why, p.allowed) : lullError(errors.invalidAnnotation, p.key, p.value, p.allowed)))
    : [];
  // What the mutating webhook writes is checked there; the validator sees it already written.
  if (!isLull(request.userInfo?.username, context.ownNamespace, context.trustedUsers)) {
    refusals.push(...ownedEdits(object, old, API_WRITTEN).map((key) => lullError(errors.lullOwnedAnnotation, key)));
  }
  return refusals.length > 0 ? deny(uid, refusals) : allow(uid);
}
