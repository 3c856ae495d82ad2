// `lull interceptor` settings from flags and the pod's environment. Pure: a bad value throws a
// LullError naming the flag, the value and what is allowed.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { SYSTEM_NAMESPACE } from '../core/annotations.ts';
import { INTERCEPTOR_ADMIN_PORT } from '../core/interceptor-contract.ts';
import { DEFAULTS } from './interceptor.ts';
import { namespaceShare } from './limits.ts';

/** The share can also come from the lull-defaults ConfigMap, as the cluster-wide defaults do. */
export const MAX_HELD_PER_NAMESPACE_ENV = 'LULL_MAX_HELD_PER_NAMESPACE';

export interface InterceptorConfig {
  host: string | undefined;
  adminPort: number;
  maxHeldTotal: number;
  maxHeldPerNamespace: number;
  maxConnecting: number;
  appLingerMs: number;
  shutdownDelayMs: number;
  gracePeriodMs: number;
  kubeconfig: string | undefined;
  /** Lull's namespace, where the reconciler writes the route records. */
  namespace: string;
  /** The pod name (reportingInstance of Events). */
  instance: string;
}

export const USAGE = `usage: lull interceptor [flags]

Holds connections for sleeping apps on the ports the reconciler's route records allocate, wakes the
apps and forwards the connections to their pods as soon as they are ready.

  --host <addr>                  address the interceptor ports accept on (all)
  --admin-port <n>               /healthz, /readyz and /metrics (${INTERCEPTOR_ADMIN_PORT})
  --max-held-total <n>           connections held at once over all apps; past it, 503 (${DEFAULTS.maxHeldTotal})
  --max-held-per-namespace <n|p%> connections held at once for one namespace's apps, a count or a share
                                 of --max-held-total; past it, 503 ($${MAX_HELD_PER_NAMESPACE_ENV} or ${DEFAULTS.maxHeldPerNamespace})
  --max-connecting <n>           connects in flight per app while held connections are forwarded (${DEFAULTS.maxConnecting})
  --app-linger <duration>        how long an app stays watched after its last connection (2m)
  --shutdown-delay <duration>    on SIGTERM, keep accepting this long while endpoints forget this replica (5s)
  --grace <duration>             then, how long held and forwarded connections may take (25s)
  --namespace <ns>               Lull's namespace: the route records are read there ($POD_NAMESPACE or ${SYSTEM_NAMESPACE})
  --kubeconfig <file>            kubeconfig to use ($KUBECONFIG, then in-cluster)
`;

function integer(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw lullError(errors.invalidConfig, flag, value, `a whole number from ${min} to ${max}`);
  return Number(value);
}

function duration(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw lullError(errors.invalidConfig, flag, value, 'a duration such as 5s, 250ms or 2m');
  return ms;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): InterceptorConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: 'string' },
        'admin-port': { type: 'string', default: String(INTERCEPTOR_ADMIN_PORT) },
        'max-held-total': { type: 'string', default: String(DEFAULTS.maxHeldTotal) },
        'max-held-per-namespace': { type: 'string', default: env[MAX_HELD_PER_NAMESPACE_ENV] || DEFAULTS.maxHeldPerNamespace },
        namespace: { type: 'string', default: env.POD_NAMESPACE || SYSTEM_NAMESPACE },
        'max-connecting': { type: 'string', default: String(DEFAULTS.maxConnecting) },
        'app-linger': { type: 'string', default: '2m' },
        'shutdown-delay': { type: 'string', default: '5s' },
        grace: { type: 'string', default: '25s' },
        kubeconfig: { type: 'string' },
      },
    }));
  } catch (err) {
    throw lullError(errors.invalidConfig, 'arguments', argv.join(' '), (err as Error).message);
  }
  const maxHeldTotal = integer('--max-held-total', values['max-held-total'], 1, 1_000_000);
  const maxHeldPerNamespace = namespaceShare(values['max-held-per-namespace'], maxHeldTotal);
  if (maxHeldPerNamespace === undefined) {
    throw lullError(errors.invalidConfig, '--max-held-per-namespace', values['max-held-per-namespace'], `a whole number from 1 to --max-held-total (${maxHeldTotal}), or a share such as 25%`);
  }
  return {
    host: values.host,
    adminPort: integer('--admin-port', values['admin-port'], 0, 65535),
    maxHeldTotal,
    maxHeldPerNamespace,
    maxConnecting: integer('--max-connecting', values['max-connecting'], 1, 100_000),
    appLingerMs: duration('--app-linger', values['app-linger']),
    shutdownDelayMs: duration('--shutdown-delay', values['shutdown-delay']),
    gracePeriodMs: duration('--grace', values.grace),
    kubeconfig: values.kubeconfig,
    namespace: values.namespace,
    instance: env.POD_NAME ?? hostname(),
  };
}
