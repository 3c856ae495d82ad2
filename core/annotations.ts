// The annotation contract (docs/design.md "The contract"): names, defaults and parsing live here only.
import { parseDuration } from './duration.ts';

export const PREFIX = 'lull.dev/';

/** Set by users on a Deployment. */
export const ENABLED = 'lull.dev/enabled';
export const IDLE_AFTER = 'lull.dev/idle-after';
export const WAKE_REPLICAS = 'lull.dev/wake-replicas';
export const HOLD_TIMEOUT = 'lull.dev/hold-timeout';
export const MAX_HELD = 'lull.dev/max-held';
/** Awake-hours (core/schedule.ts), what a request does outside them, and whether to wake before they open (core/awake-hours.ts). */
export const AWAKE_HOURS = 'lull.dev/awake-hours';
export const OUTSIDE_HOURS = 'lull.dev/outside-hours';
export const WAKE_AT_START = 'lull.dev/wake-at-start';
/** A page for browsers while the app wakes: "true", "false" or "configmap/NAME" (core/waiting-page.ts). */
export const WAITING_PAGE = 'lull.dev/waiting-page';
/** Set (by `lull sleep`) to ask for a sleep now; the reconciler clears it once asleep (core/sleep-request.ts). */
export const SLEEP_REQUESTED_AT = 'lull.dev/sleep-requested-at';
/** Request-based scaling from 1 to N (core/autoscale-settings.ts): a target opts in. */
export const TARGET_CONCURRENCY = 'lull.dev/target-concurrency';
export const TARGET_RPS = 'lull.dev/target-rps';
export const MIN_REPLICAS = 'lull.dev/min-replicas';
export const MAX_REPLICAS = 'lull.dev/max-replicas';
export const SCALE_DOWN_DELAY = 'lull.dev/scale-down-delay';
export const STABLE_WINDOW = 'lull.dev/stable-window';
/** `"true"`: the reconciler rolls the Deployment when its injected sidecar is not the installed Lull's (core/sidecar-upgrade.ts). */
export const AUTO_UPGRADE_SIDECAR = 'lull.dev/auto-upgrade-sidecar';

/** Namespace label that opts every Deployment in. */
export const INJECT_LABEL = 'lull.dev/inject';
export const INJECT_LABEL_VALUE = 'enabled';

/** Written by Lull, never by users. */
export const STATE = 'lull.dev/state';
export const REPLICAS_BEFORE_SLEEP = 'lull.dev/replicas-before-sleep';
export const SLEPT_AT = 'lull.dev/slept-at';
export const INJECTED = 'lull.dev/injected';
export const INTERCEPTOR_PORTS = 'lull.dev/interceptor-ports';
/** On a Deployment: the terminationGracePeriodSeconds the webhook replaced, JSON {"was":30,"set":40} (was null: unset). */
export const ORIGINAL_GRACE_PERIOD = 'lull.dev/original-grace-period';
/** On a Service: targetPorts the webhook rewrote to the sidecar, JSON {"<service port>": <original targetPort>}. */
export const ORIGINAL_TARGET_PORTS = 'lull.dev/original-target-ports';
/** On a Deployment: the imagePullSecrets the webhook added for the sidecar's image, comma-separated names. */
export const ADDED_PULL_SECRETS = 'lull.dev/added-pull-secrets';
/** The no-op touch the reconciler writes to re-submit a Deployment or Service through the webhook. */
export const TOUCHED_AT = 'lull.dev/touched-at';

export const LULL_OWNED = [
  STATE,
  REPLICAS_BEFORE_SLEEP,
  SLEPT_AT,
  INJECTED,
  INTERCEPTOR_PORTS,
  ORIGINAL_GRACE_PERIOD,
  ORIGINAL_TARGET_PORTS,
  ADDED_PULL_SECRETS,
  TOUCHED_AT,
] as const;

export type AppState = 'awake' | 'sleeping' | 'waking';
export const APP_STATES: readonly AppState[] = ['awake', 'sleeping', 'waking'];

/** Namespace Lull runs in; never touched by the webhook. */
export const SYSTEM_NAMESPACE = 'lull-system';
/** Never touched by any part: the cluster's own namespaces and Lull's (the webhook configurations and policies in deploy/ say the same). */
export const EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', SYSTEM_NAMESPACE];

export interface AppSettings {
  idleAfterMs: number;
  wakeReplicas: number;
  holdTimeoutMs: number;
  maxHeld: number;
}

export const DEFAULTS: AppSettings = {
  idleAfterMs: 15 * 60_000,
  wakeReplicas: 1,
  holdTimeoutMs: 2 * 60_000,
  maxHeld: 1000,
};

/** A problem with one annotation, phrased for the user: which key, which value, what is allowed. */
export interface AnnotationProblem {
  key: string;
  value: string;
  allowed: string;
  /** For values with a grammar (awake-hours): the token at fault and why. */
  at?: { token: string; why: string };
}

interface Rule<T> {
  key: string;
  allowed: string;
  parse: (value: string) => T | undefined;
}

const DAY_MS = 24 * 3_600_000;

/**
 * The most a single app may ask to hold: the interceptor's default cap over all apps (it clamps to its
 * own --max-held-total too), so one app's annotation can never claim more than the whole interceptor.
 */
export const MAX_HELD_LIMIT = 50_000;
/**
 * The longest a connection may be held: Knative's default max-revision-timeout (600s). Past it the client
 * (browsers, load balancers: typically 60s to 5m) has long given up, and the socket only costs the others.
 */
export const HOLD_TIMEOUT_LIMIT_MS = 10 * 60_000;

function durationBetween(minMs: number, maxMs: number) {
  return (value: string): number | undefined => {
    const ms = parseDuration(value);
    return ms !== undefined && ms >= minMs && ms <= maxMs ? ms : undefined;
  };
}

function integerBetween(min: number, max: number) {
  return (value: string): number | undefined => {
    if (!/^\d+$/.test(value)) return undefined;
    const n = Number(value);
    return n >= min && n <= max ? n : undefined;
  };
}

const RULES = {
  enabled: { key: ENABLED, allowed: '"true" or "false"', parse: (v: string) => (v === 'true' ? true : v === 'false' ? false : undefined) },
  idleAfterMs: { key: IDLE_AFTER, allowed: 'a duration such as 90s, 15m or 1h30m, from 1s to 30 days', parse: durationBetween(1000, 30 * DAY_MS) },
  wakeReplicas: { key: WAKE_REPLICAS, allowed: 'a whole number from 1 to 1000', parse: integerBetween(1, 1000) },
  holdTimeoutMs: { key: HOLD_TIMEOUT, allowed: 'a duration such as 30s or 2m, from 1s to 10m (the longest Lull holds a connection)', parse: durationBetween(1000, HOLD_TIMEOUT_LIMIT_MS) },
  maxHeld: { key: MAX_HELD, allowed: `a whole number from 1 to ${MAX_HELD_LIMIT} (the interceptor's cap on held connections)`, parse: integerBetween(1, MAX_HELD_LIMIT) },
  autoUpgradeSidecar: { key: AUTO_UPGRADE_SIDECAR, allowed: '"true" or "false"', parse: (v: string) => (v === 'true' ? true : v === 'false' ? false : undefined) },
} satisfies Record<string, Rule<unknown>>;

export interface ParsedAnnotations {
  enabled: boolean | undefined;
  autoUpgradeSidecar: boolean;
  settings: AppSettings;
  problems: AnnotationProblem[];
}

/** Reads the user annotations of a Deployment: defaults where absent, a problem for each bad value. */
export function parseAnnotations(annotations: Record<string, string> | undefined, defaults: AppSettings = DEFAULTS): ParsedAnnotations {
  const problems: AnnotationProblem[] = [];
  function read<T>(rule: Rule<T>, fallback: T): T {
    const value = annotations?.[rule.key];
    if (value === undefined) return fallback;
    const parsed = rule.parse(value);
    if (parsed === undefined) {
      problems.push({ key: rule.key, value, allowed: rule.allowed });
      return fallback;
    }
    return parsed;
  }
  const enabled = read<boolean | undefined>(RULES.enabled, undefined);
  const autoUpgradeSidecar = read(RULES.autoUpgradeSidecar, false);
  const settings: AppSettings = {
    idleAfterMs: read(RULES.idleAfterMs, defaults.idleAfterMs),
    wakeReplicas: read(RULES.wakeReplicas, defaults.wakeReplicas),
    holdTimeoutMs: read(RULES.holdTimeoutMs, defaults.holdTimeoutMs),
    maxHeld: read(RULES.maxHeld, defaults.maxHeld),
  };
  return { enabled, autoUpgradeSidecar, settings, problems };
}
