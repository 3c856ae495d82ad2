// Cluster-wide defaults for the user annotations (deploy/defaults.yaml): the ConfigMap an operator
// edits, and the environment variables the parts read it through. An annotation on a Deployment wins.
import { DEFAULTS, HOLD_TIMEOUT, IDLE_AFTER, MAX_HELD, parseAnnotations, WAKE_REPLICAS, type AnnotationProblem, type AppSettings } from './annotations.ts';

/** The ConfigMap in Lull's namespace; its keys are the annotation names without `lull.dev/`. */
export const DEFAULTS_CONFIGMAP = 'lull-defaults';

/** ConfigMap key and environment variable of each annotation that has a cluster-wide default. */
export const CLUSTER_DEFAULTS = [
  { annotation: IDLE_AFTER, key: 'idle-after', env: 'LULL_DEFAULT_IDLE_AFTER' },
  { annotation: WAKE_REPLICAS, key: 'wake-replicas', env: 'LULL_DEFAULT_WAKE_REPLICAS' },
  { annotation: HOLD_TIMEOUT, key: 'hold-timeout', env: 'LULL_DEFAULT_HOLD_TIMEOUT' },
  { annotation: MAX_HELD, key: 'max-held', env: 'LULL_DEFAULT_MAX_HELD' },
] as const;

export interface ClusterDefaults {
  settings: AppSettings;
  /** Bad values, phrased like annotation problems; each falls back to the built-in default. */
  problems: AnnotationProblem[];
}

/** Pure: the annotation rules applied to values read from `source` (the ConfigMap data or the env). */
function fromValues(read: (entry: (typeof CLUSTER_DEFAULTS)[number]) => string | undefined): ClusterDefaults {
  const annotations: Record<string, string> = {};
  for (const entry of CLUSTER_DEFAULTS) {
    const value = read(entry);
    if (value !== undefined && value !== '') annotations[entry.annotation] = value;
  }
  const { settings, problems } = parseAnnotations(annotations, DEFAULTS);
  return { settings, problems };
}

/** In a part: the defaults from its environment (LULL_DEFAULT_*), else the built-in ones. */
export function clusterDefaultsFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterDefaults {
  return fromValues((entry) => env[entry.env]);
}

/** In the CLI: the defaults from the ConfigMap's data. */
export function clusterDefaultsFromConfigMap(data: Record<string, string> | undefined): ClusterDefaults {
  return fromValues((entry) => data?.[entry.key]);
}

let fromEnv: AppSettings | undefined;
/** The settings a Deployment without annotations gets in this process: read from the env once. */
export function clusterSettings(): AppSettings {
  fromEnv ??= clusterDefaultsFromEnv().settings;
  return fromEnv;
}
