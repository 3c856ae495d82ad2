// Admission warnings (kubectl prints each as `Warning: ...`): settings that are admitted but cannot work,
// in core's words (core/app-problems.ts), so `lull status` says the same thing later.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { ENABLED, parseAnnotations } from '../core/annotations.ts';
import { appProblems, describeProblem, selects, serviceFacts, unknownAnnotations, type AppProblem, type ServiceFacts } from '../core/app-problems.ts';

export { serviceFacts };
import type { Backend } from './backends.ts';
import type { OptIn } from './opt-in.ts';

/** A reason about the app itself names it; a misspelt annotation names itself. */
function warning(app: string, p: AppProblem): string {
  return p.code === 'LULL_UNKNOWN_ANNOTATION' ? p.message : `${app} ${describeProblem(p)}`;
}

/** "leave" is a namespace not known yet: then only the annotation says. */
function managed(decision: OptIn, annotations: Record<string, string> | undefined): boolean {
  return decision === 'inject' || (decision === 'leave' && annotations?.[ENABLED] === 'true');
}

/** Pure: only the misspelt annotations (for a Deployment Lull leaves alone for another reason). */
export function annotationWarnings(deployment: V1Deployment, decision: OptIn): string[] {
  const annotations = deployment.metadata?.annotations;
  return unknownAnnotations(annotations, managed(decision, annotations)).map((p) => warning(deployment.metadata?.name ?? '', p));
}

/**
 * Pure. `services`/`backends`: the namespace's, as the informers know them (undefined while not synced,
 * then only what the Deployment alone shows is judged).
 */
export function deploymentWarnings(deployment: V1Deployment, decision: OptIn, services: readonly ServiceFacts[] | undefined, backends: readonly Backend[] | undefined): string[] {
  const annotations = deployment.metadata?.annotations;
  const name = deployment.metadata?.name ?? '';
  const podLabels = deployment.spec?.template?.metadata?.labels ?? {};
  const problems = appProblems({
    name,
    annotations,
    managed: managed(decision, annotations),
    idleAfterMs: parseAnnotations(annotations).settings.idleAfterMs,
    podLabels,
    podSpec: deployment.spec?.template?.spec,
    services,
    // The stored copy of this Deployment may be older than the one admitted: this one's labels count.
    deployments: backends === undefined ? undefined : [...backends.filter((b) => b.name !== name), { name, podLabels }],
  });
  return problems.map((p) => warning(name, p));
}

/** Pure: a Service that keeps the Lull apps it selects from sleeping says so when it is written. */
export function serviceWarnings(service: V1Service, backends: readonly Backend[] | undefined): string[] {
  const facts = serviceFacts(service);
  if (backends === undefined || facts.externalName) return [];
  const selected = backends.filter((b) => selects(facts.selector, b.podLabels));
  const out: string[] = [];
  for (const app of selected.filter((b) => b.injected)) {
    const problems = appProblems({ name: app.name, annotations: undefined, managed: true, idleAfterMs: Infinity, podLabels: app.podLabels, podSpec: undefined, services: [facts], deployments: selected });
    out.push(...problems.map((p) => warning(app.name, p)));
  }
  return out;
}
