// Why an app will not sleep or wake as its owner expects, from what `lull status` read: core's reasons
// (core/app-problems.ts), the same the webhook warned with when the app was applied.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { PREFIX, type AppSettings } from '../core/annotations.ts';
import { appProblems, serviceFacts, unknownAnnotations, type AppProblem, type DeploymentFacts } from '../core/app-problems.ts';

/** Pure. */
export function deploymentFacts(deployment: V1Deployment): DeploymentFacts {
  return { name: deployment.metadata?.name ?? '', podLabels: deployment.spec?.template?.metadata?.labels ?? {} };
}

/** Pure: a Deployment Lull does not manage, but whose lull.dev/ annotations show someone meant it to. */
export function meantForLull(deployment: V1Deployment): boolean {
  const annotations = deployment.metadata?.annotations;
  return Object.keys(annotations ?? {}).some((k) => k.startsWith(PREFIX)) && unknownAnnotations(annotations, false).length > 0;
}

/** Pure. `services`/`deployments`: the Deployment's namespace's. */
export function problemsOf(deployment: V1Deployment, managed: boolean, settings: AppSettings, services: readonly V1Service[], deployments: readonly V1Deployment[]): AppProblem[] {
  const namespace = deployment.metadata?.namespace;
  return appProblems({
    name: deployment.metadata?.name ?? '',
    annotations: deployment.metadata?.annotations,
    managed,
    idleAfterMs: settings.idleAfterMs,
    podLabels: deployment.spec?.template?.metadata?.labels ?? {},
    podSpec: deployment.spec?.template?.spec,
    services: services.filter((s) => s.metadata?.namespace === namespace).map(serviceFacts),
    deployments: deployments.filter((d) => d.metadata?.namespace === namespace).map(deploymentFacts),
  });
}
