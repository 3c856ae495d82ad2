// POST /mutate: inject or strip the sidecar on Deployments, route Services to it.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { LULL_OWNED } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import { isDeployment, isService, isWrite, objectOf, type AdmissionContext } from './admission-context.ts';
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from './admission-review.ts';
import { deploymentPatch } from './deployment-patch.ts';
import { drainToken } from './drain-key.ts';
import { isExcludedNamespace, optIn } from './opt-in.ts';
import { isLull, ownedEdits } from './ownership.ts';
import { appTcpPorts } from './ports.ts';
import { servicePatch } from './routing.ts';
import { annotationWarnings, deploymentWarnings, serviceWarnings } from './warnings.ts';

const NOTHING_TO_FRONT = 'Lull leaves this Deployment as it is: no container has a TCP port, so no request could wake it';

/** Pure given the context's caches: no request leaves the process while an admission waits. */
export function mutate(request: AdmissionRequest, context: AdmissionContext): AdmissionResponse {
  const { uid, namespace } = request;
  if (!isWrite(request) || isExcludedNamespace(namespace, context.ownNamespace)) return allow(uid);
  if (!isDeployment(request) && !isService(request)) return allow(uid);

  // Here, before Lull's own patch, is the one place where a user's edit of what the webhook writes shows.
  const { object, old } = objectOf<V1Deployment | V1Service>(request);
  const edits = isLull(request.userInfo?.username, context.ownNamespace, context.trustedUsers) ? [] : ownedEdits(object, old, LULL_OWNED);
  if (edits.length > 0) return deny(uid, edits.map((key) => lullError(errors.lullOwnedAnnotation, key)));
  if (object.metadata?.deletionTimestamp !== undefined) return allow(uid);

  if (isDeployment(request)) {
    const deployment = object as V1Deployment;
    const decision = optIn(namespace, deployment.metadata?.annotations, context.namespaceLabels(namespace!), context.ownNamespace);
    const spec = deployment.spec?.template?.spec;
    const warnings =
      decision === 'inject' && spec !== undefined && appTcpPorts(spec).length === 0
        ? [NOTHING_TO_FRONT, ...annotationWarnings(deployment, decision)]
        : deploymentWarnings(deployment, decision, context.services?.(namespace!), context.backends(namespace!));
    const name = deployment.metadata?.name ?? request.name ?? '';
    const options = context.drainKey ? { ...context.inject, drainToken: drainToken(context.drainKey, namespace!, name) } : context.inject;
    return allow(uid, deploymentPatch(deployment, decision, options), warnings);
  }
  const backends = context.backends(namespace!);
  if (backends === undefined) return allow(uid);
  return allow(uid, servicePatch(object as V1Service, old as V1Service | undefined, backends), serviceWarnings(object as V1Service, backends));
}
