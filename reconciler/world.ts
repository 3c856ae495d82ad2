// The informers the reconciler reads, and the lookups between them: a Deployment's Services, pods and
// slices, and which apps an event about any object concerns.
import { SERVICE_NAME_LABEL } from '../core/interceptor-contract.ts';
import { membership, type Membership } from '../core/opt-in.ts';
import type { Informer } from '../core/informer.ts';
import { requirementsMatch, serviceSelects, type Requirement } from './labels.ts';
import type { DeploymentObj, NamespaceObj, PodObj, RecordObj, ServiceObj, SliceObj } from '../core/objects.ts';

export interface Informers {
  namespaces: Informer<NamespaceObj>;
  deployments: Informer<DeploymentObj>;
  services: Informer<ServiceObj>;
  slices: Informer<SliceObj>;
  pods: Informer<PodObj>;
  interceptors: Informer<PodObj>;
  /** The route records in Lull's namespace: the interceptor ports (see PortTable). */
  routes: Informer<RecordObj>;
}

export const appKey = (namespace: string, name: string) => `${namespace}/${name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Index keys the informers maintain. */
export const podIndex = (pod: PodObj) => (pod.deployment ? appKey(pod.metadata.namespace ?? '', pod.deployment) : undefined);
export const sliceIndex = (slice: SliceObj) => {
  const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return service ? appKey(slice.metadata.namespace ?? '', service) : undefined;
};

export class World {
  readonly informers: Informers;
  readonly ownNamespace: string;
  readonly #namespaceRequirements: Requirement[] | undefined;

  constructor(informers: Informers, ownNamespace: string, namespaceRequirements?: Requirement[]) {
    this.informers = informers;
    this.ownNamespace = ownNamespace;
    this.#namespaceRequirements = namespaceRequirements;
  }

  synced(): boolean {
    return Object.values(this.informers).every((i) => i.hasSynced());
  }

  deployment(namespace: string, name: string): DeploymentObj | undefined {
    return this.informers.deployments.get(namespace, name);
  }

  /** Is this namespace one the reconciler may manage (--namespace-selector)? undefined: not known yet. */
  managed(namespace: string): boolean | undefined {
    if (this.#namespaceRequirements === undefined) return true;
    const ns = this.informers.namespaces.get('', namespace);
    if (ns === undefined) return undefined;
    return requirementsMatch(this.#namespaceRequirements, ns.metadata.labels ?? {});
  }

  membership(deployment: DeploymentObj): Membership {
    const namespace = deployment.metadata.namespace ?? '';
    const managed = this.managed(namespace);
    if (managed === undefined) return 'unknown';
    // Outside the managed namespaces Lull neither onboards nor undoes: another instance may own them.
    if (!managed) return 'unknown';
    const labels = this.informers.namespaces.get('', namespace)?.metadata.labels;
    return membership(namespace, deployment.metadata.annotations, labels, this.ownNamespace);
  }

  /** Services in the Deployment's namespace whose selector picks its pods. */
  servicesSelecting(deployment: DeploymentObj): ServiceObj[] {
    return this.informers.services.list(deployment.metadata.namespace ?? '').filter((s) => s.type !== 'ExternalName' && serviceSelects(s.selector, deployment.podLabels));
  }

  /** Deployments whose pods a Service selects. */
  deploymentsSelectedBy(service: ServiceObj): DeploymentObj[] {
    return this.informers.deployments.list(service.metadata.namespace ?? '').filter((d) => serviceSelects(service.selector, d.podLabels));
  }

  pods(namespace: string, name: string): PodObj[] {
    return [...this.informers.pods.indexed(appKey(namespace, name))];
  }

  slices(namespace: string, service: string): SliceObj[] {
    return [...this.informers.slices.indexed(appKey(namespace, service))];
  }

  /** App keys an event about `service` concerns: those it selects (the one its route names is the PortTable's to say). */
  appsOfService(service: ServiceObj): string[] {
    const namespace = service.metadata.namespace ?? '';
    return this.deploymentsSelectedBy(service).map((d) => appKey(namespace, d.metadata.name));
  }
}
