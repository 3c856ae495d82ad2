// Settings that are admitted but cannot work, phrased once: the webhook warns with them, `lull status`
// shows them, the reconciler blocks a sleep with the same words.
import type { V1PodSpec, V1Probe, V1Service } from '@kubernetes/client-node';
import { AUTO_UPGRADE_SIDECAR, AWAKE_HOURS, ENABLED, HOLD_TIMEOUT, IDLE_AFTER, INJECT_LABEL, LULL_OWNED, MAX_HELD, OUTSIDE_HOURS, PREFIX, SLEEP_REQUESTED_AT, WAITING_PAGE, WAKE_AT_START, WAKE_REPLICAS } from './annotations.ts';
import { formatDuration } from './duration.ts';
import { errors, lullError, type ErrorDef } from './errors.ts';
import { nearest } from './nearest.ts';
import { AUTOSCALE_ANNOTATIONS } from './autoscale-settings.ts';

/** What the problem does to the app; `ignored`: a setting has no effect. */
export type Effect = 'will not sleep' | 'will not stay awake' | 'ignored' | 'outdated';

export interface AppProblem {
  /** Stable code from core/errors.ts. */
  code: string;
  effect: Effect;
  message: string;
}

/** The annotations a user sets on a Deployment: what a typo is matched against. */
export const USER_ANNOTATIONS: readonly string[] = [ENABLED, IDLE_AFTER, WAKE_REPLICAS, HOLD_TIMEOUT, MAX_HELD, AWAKE_HOURS, OUTSIDE_HOURS, WAKE_AT_START, WAITING_PAGE, ...AUTOSCALE_ANNOTATIONS, AUTO_UPGRADE_SIDECAR];
// A sleep request is a command (`lull sleep` sets it), not a setting: known, but not offered for typos.
const KNOWN: ReadonlySet<string> = new Set([...USER_ANNOTATIONS, SLEEP_REQUESTED_AT, ...LULL_OWNED]);

function problem(def: ErrorDef, effect: Effect, ...args: unknown[]): AppProblem {
  return { code: def.code, effect, message: lullError(def, ...args).message };
}

/** `will not sleep: <message>`, or the message alone for a setting that is merely ignored. */
export function describeProblem(p: AppProblem): string {
  return p.effect === 'ignored' || p.effect === 'outdated' ? p.message : `${p.effect}: ${p.message}`;
}

/**
 * Pure: a problem for each `lull.dev/` annotation Lull does not know, with the nearest known one.
 * `managed`: Lull manages the Deployment anyway; a misspelt lull.dev/enabled on one it does not is why.
 */
export function unknownAnnotations(annotations: Record<string, string> | undefined, managed: boolean): AppProblem[] {
  const out: AppProblem[] = [];
  for (const key of Object.keys(annotations ?? {})) {
    if (!key.startsWith(PREFIX) || KNOWN.has(key)) continue;
    const guess = key === INJECT_LABEL ? undefined : nearest(key, USER_ANNOTATIONS);
    const hint =
      key === INJECT_LABEL
        ? `label the namespace with it, or use ${ENABLED}`
        : guess
          ? `did you mean ${guess}?`
          : `Lull reads ${USER_ANNOTATIONS.map((k, i) => (i === 0 ? k : k.slice(PREFIX.length))).join(', ')}`;
    const optIn = key === INJECT_LABEL || guess === ENABLED;
    out.push(problem(errors.unknownAnnotation, optIn && !managed ? 'will not sleep' : 'ignored', key, hint));
  }
  return out;
}

/** A Service as far as these checks read it. */
export interface ServiceFacts {
  name: string;
  selector?: Record<string, string> | undefined;
  headless: boolean;
  externalName: boolean;
}

/** Pure: what these checks read of a Service (the webhook keeps only this in its cache). */
export function serviceFacts(service: V1Service): ServiceFacts {
  return {
    name: service.metadata?.name ?? '',
    selector: service.spec?.selector,
    headless: service.spec?.clusterIP === 'None',
    externalName: service.spec?.type === 'ExternalName',
  };
}

/** A Deployment of the same namespace as far as these checks read it. */
export interface DeploymentFacts {
  name: string;
  podLabels: Record<string, string>;
}

/** Pure: a Service selector selects pods whose labels include every pair of it; an empty one selects nothing. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([key, value]) => labels[key] === value);
}

/** The Service texts the reconciler's sleep blocker shares. */
export const serviceProblem = {
  none: () => problem(errors.noService, 'will not sleep'),
  headless: (service: string) => problem(errors.headlessService, 'will not sleep', service),
  shared: (service: string, others: readonly string[]) => problem(errors.sharedService, 'will not sleep', service, others.join(', ')),
};

/**
 * Pure: why the Services in front of the Deployment `name` keep it from sleeping: none selects it, one is
 * headless, one also selects other Deployments. `services` and `deployments`: its namespace's.
 */
export function routingProblems(name: string, podLabels: Record<string, string>, services: readonly ServiceFacts[], deployments: readonly DeploymentFacts[]): AppProblem[] {
  const selecting = services.filter((s) => !s.externalName && selects(s.selector, podLabels));
  if (selecting.length === 0) return [serviceProblem.none()];
  const out: AppProblem[] = [];
  for (const service of selecting) {
    if (service.headless) out.push(serviceProblem.headless(service.name));
    const others = deployments.filter((d) => d.name !== name && selects(service.selector, d.podLabels)).map((d) => d.name);
    if (others.length > 0) out.push(serviceProblem.shared(service.name, others.sort()));
  }
  return out;
}

/** Pure: the longest a readiness probe may take to pass on a pod that starts ready (Kubernetes' defaults). */
export function readinessMs(probe: V1Probe): number {
  return ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.successThreshold ?? 1)) * 1000;
}

/** Pure: the slowest readiness among the containers with a TCP port (the ones a request waits for). */
export function slowestReadinessMs(spec: V1PodSpec | undefined): number | undefined {
  let slowest: number | undefined;
  for (const container of spec?.containers ?? []) {
    if (container.readinessProbe === undefined || !(container.ports ?? []).some((p) => (p.protocol ?? 'TCP') === 'TCP')) continue;
    slowest = Math.max(slowest ?? 0, readinessMs(container.readinessProbe));
  }
  return slowest;
}

/** Pure: a woken app is idle again before the kubelet calls it ready, so it goes back to sleep as soon as it is. */
export function readinessProblem(idleAfterMs: number, spec: V1PodSpec | undefined): AppProblem | undefined {
  const ready = slowestReadinessMs(spec);
  if (ready === undefined || idleAfterMs >= ready) return undefined;
  return problem(errors.idleAfterBelowReadiness, 'will not stay awake', formatDuration(idleAfterMs), formatDuration(ready));
}

export interface AppFacts {
  name: string;
  annotations: Record<string, string> | undefined;
  /** Lull manages it (its annotation or its namespace's label). */
  managed: boolean;
  idleAfterMs: number;
  podLabels: Record<string, string>;
  podSpec: V1PodSpec | undefined;
  /** Its namespace's Services and Deployments; undefined when not known (then routing is not judged). */
  services: readonly ServiceFacts[] | undefined;
  deployments: readonly DeploymentFacts[] | undefined;
}

/** Pure: every reason the app will not sleep or wake as its owner expects; what the webhook and the CLI both show. */
export function appProblems(app: AppFacts): AppProblem[] {
  const out = unknownAnnotations(app.annotations, app.managed);
  if (!app.managed) return out;
  if (app.services !== undefined && app.deployments !== undefined) out.push(...routingProblems(app.name, app.podLabels, app.services, app.deployments));
  const readiness = readinessProblem(app.idleAfterMs, app.podSpec);
  if (readiness) out.push(readiness);
  if (app.annotations?.[AWAKE_HOURS] === undefined) {
    for (const key of [OUTSIDE_HOURS, WAKE_AT_START]) if (app.annotations?.[key] !== undefined) out.push(problem(errors.scheduleWithoutHours, 'ignored', key));
  }
  return out;
}
