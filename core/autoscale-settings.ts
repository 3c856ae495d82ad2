// Request-based scaling from 1 to N (docs/design.md "Autoscaling"): the annotations that opt in, their
// defaults and limits. An app without a target is not autoscaled and behaves exactly as before.
import { MAX_REPLICAS, MIN_REPLICAS, SCALE_DOWN_DELAY, STABLE_WINDOW, TARGET_CONCURRENCY, TARGET_RPS, type AnnotationProblem } from './annotations.ts';
import { parseDuration } from './duration.ts';

export const AUTOSCALE_ANNOTATIONS: readonly string[] = [TARGET_CONCURRENCY, TARGET_RPS, MIN_REPLICAS, MAX_REPLICAS, SCALE_DOWN_DELAY, STABLE_WINDOW];

/** What a pod's load is measured in: requests in flight, or requests per second. */
export type AutoscaleMetric = 'concurrency' | 'rps';

export interface AutoscaleSettings {
  metric: AutoscaleMetric;
  /** Per pod, in the metric's unit. */
  target: number;
  /** 0: the app may sleep (Lull's sleep path); the autoscaler itself never goes below 1. */
  minReplicas: number;
  maxReplicas: number;
  /** A scale-down waits until the lower count has been called for this long. */
  scaleDownDelayMs: number;
  /** The stable window; the panic window is a tenth of it (Knative's 60 s and 6 s). */
  stableWindowMs: number;
}

/** The most replicas an annotation may ask for; the default max is lower so a runaway target cannot fill a cluster. */
export const MAX_REPLICAS_LIMIT = 1000;
export const AUTOSCALE_DEFAULTS = { minReplicas: 0, maxReplicas: 100, scaleDownDelayMs: 0, stableWindowMs: 60_000 } as const;
/** Knative's panic window is 10% of the stable window. */
export const PANIC_WINDOW_SHARE = 0.1;

const HOUR_MS = 3_600_000;

function decimal(min: number, max: number) {
  return (value: string): number | undefined => {
    if (!/^(\d+(\.\d+)?|\.\d+)$/.test(value)) return undefined;
    const n = Number(value);
    return n >= min && n <= max ? n : undefined;
  };
}

function whole(min: number, max: number) {
  return (value: string): number | undefined => {
    if (!/^\d+$/.test(value)) return undefined;
    const n = Number(value);
    return n >= min && n <= max ? n : undefined;
  };
}

function duration(minMs: number, maxMs: number) {
  return (value: string): number | undefined => {
    const ms = parseDuration(value);
    return ms !== undefined && ms >= minMs && ms <= maxMs ? ms : undefined;
  };
}

const RULES = {
  targetConcurrency: { key: TARGET_CONCURRENCY, allowed: 'requests in flight per pod: a number from 0.1 to 10000, such as 10', parse: decimal(0.1, 10_000) },
  targetRps: { key: TARGET_RPS, allowed: 'requests per second per pod: a number from 0.1 to 100000, such as 50', parse: decimal(0.1, 100_000) },
  minReplicas: { key: MIN_REPLICAS, allowed: `a whole number from 0 (the app may sleep) to ${MAX_REPLICAS_LIMIT}`, parse: whole(0, MAX_REPLICAS_LIMIT) },
  maxReplicas: { key: MAX_REPLICAS, allowed: `a whole number from 1 to ${MAX_REPLICAS_LIMIT}`, parse: whole(1, MAX_REPLICAS_LIMIT) },
  scaleDownDelayMs: { key: SCALE_DOWN_DELAY, allowed: 'a duration such as 0s, 30s or 5m, at most 1h', parse: duration(0, HOUR_MS) },
  stableWindowMs: { key: STABLE_WINDOW, allowed: 'a duration such as 60s, from 6s to 1h (the panic window is a tenth of it)', parse: duration(6000, HOUR_MS) },
} as const;

export interface ParsedAutoscale {
  /** undefined: no target, so not autoscaled. */
  settings: AutoscaleSettings | undefined;
  problems: AnnotationProblem[];
}

/** Pure: the autoscaling annotations of a Deployment; a problem for each bad value or combination. */
export function parseAutoscale(annotations: Record<string, string> | undefined): ParsedAutoscale {
  const problems: AnnotationProblem[] = [];
  const read = (rule: (typeof RULES)[keyof typeof RULES]): number | undefined => {
    const value = annotations?.[rule.key];
    if (value === undefined) return undefined;
    const parsed = rule.parse(value);
    if (parsed === undefined) problems.push({ key: rule.key, value, allowed: rule.allowed });
    return parsed;
  };
  const concurrency = read(RULES.targetConcurrency);
  const rps = read(RULES.targetRps);
  const min = read(RULES.minReplicas);
  const max = read(RULES.maxReplicas);
  const delay = read(RULES.scaleDownDelayMs);
  const window = read(RULES.stableWindowMs);
  const hasTarget = annotations?.[TARGET_CONCURRENCY] !== undefined || annotations?.[TARGET_RPS] !== undefined;
  if (annotations?.[TARGET_CONCURRENCY] !== undefined && annotations?.[TARGET_RPS] !== undefined) {
    problems.push({ key: TARGET_RPS, value: annotations[TARGET_RPS]!, allowed: `not together with ${TARGET_CONCURRENCY}: choose one target` });
  }
  if (!hasTarget) {
    for (const key of [MIN_REPLICAS, MAX_REPLICAS, SCALE_DOWN_DELAY, STABLE_WINDOW]) {
      const value = annotations?.[key];
      if (value !== undefined) problems.push({ key, value, allowed: `only with ${TARGET_CONCURRENCY} or ${TARGET_RPS}, which turn request-based scaling on` });
    }
  }
  const minReplicas = min ?? AUTOSCALE_DEFAULTS.minReplicas;
  const maxReplicas = max ?? Math.max(AUTOSCALE_DEFAULTS.maxReplicas, minReplicas);
  if (min !== undefined && max !== undefined && min > max) problems.push({ key: MIN_REPLICAS, value: annotations![MIN_REPLICAS]!, allowed: `at most ${MAX_REPLICAS} (${max})` });
  const target = concurrency ?? rps;
  if (!hasTarget || target === undefined || problems.length > 0) return { settings: undefined, problems };
  return {
    settings: {
      metric: concurrency !== undefined ? 'concurrency' : 'rps',
      target,
      minReplicas,
      maxReplicas,
      scaleDownDelayMs: delay ?? AUTOSCALE_DEFAULTS.scaleDownDelayMs,
      stableWindowMs: window ?? AUTOSCALE_DEFAULTS.stableWindowMs,
    },
    problems,
  };
}

/** Pure: the settings of an autoscaled app, or undefined (no target, or a bad value: then it keeps today's behaviour). */
export function autoscaleSettings(annotations: Record<string, string> | undefined): AutoscaleSettings | undefined {
  return parseAutoscale(annotations).settings;
}

/**
 * A load a hair over a multiple of the target (a request counted for the instant its response leaves
 * while the client's next one arrives) does not buy one more pod: 1% up-tolerance. No more: the
 * clients' own overhead already makes the sidecars count a little under the clients, so more left a step short.
 */
export const SCALE_UP_TOLERANCE = 0.01;

/** Pure: pods that carry `load` at `target` each (within the up-tolerance); 0 for no load. */
export function replicasForLoad(load: number, target: number): number {
  return Math.ceil(load / (target * (1 + SCALE_UP_TOLERANCE)));
}

/**
 * Pure: replicas to wake to for `held` connections (Knative's activator: a burst of 200 for target 10
 * wakes 20 pods, not 1). Concurrency only: a held connection is one request in flight; a rate is not known yet.
 */
export function wakeReplicasFor(settings: AutoscaleSettings, held: number): number {
  const floor = Math.max(1, settings.minReplicas);
  const wanted = settings.metric === 'concurrency' ? Math.ceil(held / settings.target) : 1;
  return Math.min(settings.maxReplicas, Math.max(floor, wanted));
}
