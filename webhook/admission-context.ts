// What the admission handlers read besides the request: settings and the informers' caches.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { AdmissionRequest } from './admission-review.ts';
import type { ServiceFacts } from '../core/app-problems.ts';
import type { Backend } from './backends.ts';
import type { InjectOptions } from './inject.ts';

export interface AdmissionContext {
  /** Lull's namespace: never touched, and its service accounts are Lull. */
  ownNamespace: string;
  /** Users that count as Lull besides the service accounts of its namespace. */
  trustedUsers?: readonly string[];
  inject: InjectOptions;
  /** Key of the Deployments' drain tokens (drain-key.ts); without it hooks carry none (the node alone may drain). */
  drainKey?: Buffer;
  /** Labels of a namespace; undefined while not known. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  /** Deployments of a namespace as routing backends; undefined while not known. */
  backends(namespace: string): readonly Backend[] | undefined;
  /** Services of a namespace, for warnings only; undefined while not known. */
  services?(namespace: string): readonly ServiceFacts[] | undefined;
}

export function isDeployment(request: AdmissionRequest): boolean {
  return request.kind.group === 'apps' && request.kind.kind === 'Deployment';
}

export function isService(request: AdmissionRequest): boolean {
  return request.kind.group === '' && request.kind.kind === 'Service';
}

/** CREATE and UPDATE of the object itself (not a subresource) are what Lull acts on. */
export function isWrite(request: AdmissionRequest): boolean {
  return (request.operation === 'CREATE' || request.operation === 'UPDATE') && !request.subResource && typeof request.object === 'object' && request.object !== null;
}

export function objectOf<T extends V1Deployment | V1Service>(request: AdmissionRequest): { object: T; old: T | undefined } {
  return { object: request.object as T, old: (request.oldObject ?? undefined) as T | undefined };
}
