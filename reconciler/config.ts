// `lull reconciler` settings from flags (and POD_NAMESPACE, POD_NAME): parsed and checked here, used everywhere else.
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { LULL_VERSION } from '../core/version.ts';
import { SYSTEM_NAMESPACE } from '../core/annotations.ts';
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { INTERCEPTOR_NAMESPACE, INTERCEPTOR_SELECTOR } from '../core/interceptor-contract.ts';
import { parseSelector } from './labels.ts';

export interface LeaseSettings {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ReconcilerConfig {
  /** Lull's namespace: never managed; the Lease and the route records live here. */
  namespace: string;
  lease: LeaseSettings;
  host: string;
  port: number;
  interceptorNamespace: string;
  interceptorSelector: string;
  /** Only namespaces whose labels match are managed; undefined: all but the excluded ones. */
  namespaceSelector?: string;
  queryTimeoutMs: number;
  workers: number;
  kubeconfig?: string;
  /** How long before awake-hours open wake-at-start wakes an app. */
  wakeLeadMs: number;
  /** The sidecar version the webhook of this release injects: apps annotated lull.dev/auto-upgrade-sidecar are rolled to it. */
  sidecarVersion: string;
}

export const USAGE = `usage: lull reconciler [flags]

  --host <addr>                    address of /healthz, /readyz and /metrics (0.0.0.0)
  --port <n>                       their port (9950)
  --namespace <ns>                 Lull's namespace: never managed, holds the Lease and the route records ($POD_NAMESPACE or ${SYSTEM_NAMESPACE})
  --lease-name <name>              Lease of the leader election (lull-reconciler)
  --identity <id>                  this replica's name in the Lease ($POD_NAME, else host name and a random suffix)
  --lease-duration <duration>      how long a leader's Lease lasts without renewal (15s)
  --renew-deadline <duration>      a leader that cannot renew for this long stops leading (10s)
  --retry-period <duration>        how often to renew or try to acquire (2s)
  --interceptor-namespace <ns>     where the interceptor pods run (${INTERCEPTOR_NAMESPACE})
  --interceptor-selector <labels>  label selector of the interceptor pods (${INTERCEPTOR_SELECTOR})
  --namespace-selector <labels>    manage only namespaces with these labels (all)
  --query-timeout <duration>       longest wait for a sidecar's /lull/activity (1s)
  --workers <n>                    apps reconciled at once (8)
  --wake-lead <duration>           how long before awake-hours open lull.dev/wake-at-start wakes an app (3m)
  --kubeconfig <file>              kubeconfig to use ($KUBECONFIG, then in-cluster)
  --sidecar-version <v>            the webhook's --sidecar-version: apps annotated lull.dev/auto-upgrade-sidecar are rolled to it (${LULL_VERSION})
`;

function duration(flag: string, value: string, minMs: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs) throw lullError(errors.invalidConfig, flag, value, `a duration such as 500ms, 2s or 1m, at least ${minMs} ms`);
  return ms;
}

function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw lullError(errors.invalidConfig, flag, value, `a whole number from ${min} to ${max}`);
  return n;
}

/** Pure but for the random identity suffix when no pod name is given. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ReconcilerConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '9950' },
      namespace: { type: 'string', default: env.POD_NAMESPACE || SYSTEM_NAMESPACE },
      'lease-name': { type: 'string', default: 'lull-reconciler' },
      identity: { type: 'string', default: env.POD_NAME || `${hostname()}-${randomBytes(3).toString('hex')}` },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      'interceptor-namespace': { type: 'string', default: INTERCEPTOR_NAMESPACE },
      'interceptor-selector': { type: 'string', default: INTERCEPTOR_SELECTOR },
      'namespace-selector': { type: 'string' },
      'query-timeout': { type: 'string', default: '1s' },
      workers: { type: 'string', default: '8' },
      'wake-lead': { type: 'string', default: '3m' },
      kubeconfig: { type: 'string' },
      'sidecar-version': { type: 'string', default: LULL_VERSION },
    },
  });
  const port = integer('--port', values.port, 1, 65_535);
  if (values.host !== 'localhost' && isIP(values.host) === 0) throw lullError(errors.invalidConfig, '--host', values.host, 'an IPv4 or IPv6 address');
  const durationMs = duration('--lease-duration', values['lease-duration'], 1000);
  const renewDeadlineMs = duration('--renew-deadline', values['renew-deadline'], 100);
  const retryPeriodMs = duration('--retry-period', values['retry-period'], 50);
  // client-go's rules: the leader gives up before anyone else may take over, and retries within that time.
  if (renewDeadlineMs >= durationMs) throw lullError(errors.invalidConfig, '--renew-deadline', values['renew-deadline'], 'shorter than --lease-duration');
  if (retryPeriodMs >= renewDeadlineMs) throw lullError(errors.invalidConfig, '--retry-period', values['retry-period'], 'shorter than --renew-deadline');
  const namespaceSelector = values['namespace-selector'];
  if (namespaceSelector !== undefined && parseSelector(namespaceSelector) === undefined) {
    throw lullError(errors.invalidConfig, '--namespace-selector', namespaceSelector, 'an equality-based label selector such as team=a,env!=prod');
  }
  if (!values['interceptor-selector']) throw lullError(errors.invalidConfig, '--interceptor-selector', '', 'a label selector such as app=lull-interceptor');
  return {
    namespace: values.namespace,
    lease: { namespace: values.namespace, name: values['lease-name'], identity: values.identity, durationMs, renewDeadlineMs, retryPeriodMs },
    host: values.host,
    port,
    interceptorNamespace: values['interceptor-namespace'],
    interceptorSelector: values['interceptor-selector'],
    ...(namespaceSelector ? { namespaceSelector } : {}),
    queryTimeoutMs: duration('--query-timeout', values['query-timeout'], 10),
    workers: integer('--workers', values.workers, 1, 256),
    wakeLeadMs: duration('--wake-lead', values['wake-lead'], 0),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    sidecarVersion: values['sidecar-version'],
  };
}
