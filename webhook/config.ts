// `lull webhook` settings from flags (and POD_NAMESPACE): parsed and checked here, used everywhere else.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import { SYSTEM_NAMESPACE } from '../core/annotations.ts';
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { LULL_IMAGE_REPOSITORY } from '../core/sidecar-contract.ts';
import type { TlsSettings } from './tls-material.ts';

export interface WebhookConfig {
  host: string;
  port: number;
  namespace: string;
  secretName: string;
  caSecretName: string;
  /** Secret holding the key of the Deployments' drain tokens. */
  drainKeySecretName: string;
  mutatingConfigName: string;
  validatingConfigName: string;
  tls: TlsSettings;
  resyncMs: number;
  sidecarImage: string;
  sidecarPullPolicy: string;
  /** Secrets the webhook adds to an injected pod's imagePullSecrets (and removes on opt-out). */
  sidecarPullSecrets: string[];
  /** Replaces the sidecar's built-in requests and limits. */
  sidecarResources?: V1ResourceRequirements;
  version: string;
  shutdownDelayMs: number;
  /** Users that may write Lull's annotations besides the service accounts of its namespace. */
  trustedUsers: string[];
  kubeconfig?: string;
}

export const LULL_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const USAGE = `usage: lull webhook [flags]

  --host <addr>                 address to listen on (0.0.0.0)
  --port <n>                    HTTPS port (9443)
  --namespace <ns>              Lull's namespace: its Secret, its service accounts ($POD_NAMESPACE or ${SYSTEM_NAMESPACE})
  --service <name>              Service in front of the webhook; its DNS names go into the certificate (lull-webhook)
  --dns-name <name>             another DNS name for the certificate (repeatable)
  --ip-address <ip>             an IP address for the certificate, e.g. when registered by URL (repeatable)
  --secret <name>               Secret holding the serving certificate and key (lull-webhook-tls)
  --ca-secret <name>            Secret holding the CA certificate and key, kept apart (--secret with -tls
                                replaced by -ca: lull-webhook-ca)
  --drain-key-secret <name>     Secret holding the key of the preStop drain tokens, created once (lull-drain-key)
  --mutating-config <name>      MutatingWebhookConfiguration to write the caBundle into (lull-webhook; "" for none)
  --validating-config <name>    ValidatingWebhookConfiguration to write the caBundle into (lull-webhook; "" for none)
  --cert-validity <duration>    serving certificate lifetime (8760h)
  --renew-before <duration>     renew this long before expiry (a third of the lifetime)
  --ca-validity <duration>      CA lifetime (87600h)
  --ca-overlap <duration>       after a CA change, the previous CA stays trusted this long (1h; more than --resync)
  --resync <duration>           longest time between checks of the Secret and caBundle (5m)
  --sidecar-image <ref>         image of the injected sidecar (${LULL_IMAGE_REPOSITORY}:<version>)
  --sidecar-resources <json>    the sidecar's resources, e.g. {"requests":{"cpu":"10m","memory":"48Mi"}} (those)
  --sidecar-image-pull-policy <p>  IfNotPresent, Always or Never (IfNotPresent)
  --sidecar-image-pull-secret <name>  a Secret in each app's namespace to pull the sidecar's image with (repeatable)
  --sidecar-version <v>         version recorded in lull.dev/injected (${LULL_VERSION})
  --trusted-user <name>         a user that may write Lull's annotations too, e.g. a part run outside the
                                cluster (repeatable; the service accounts of --namespace always may)
  --shutdown-delay <duration>   on SIGTERM, keep answering this long while endpoints forget this replica (3s)
  --kubeconfig <file>           kubeconfig to use ($KUBECONFIG, then in-cluster)
`;

function duration(flag: string, value: string, minMs: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs) throw lullError(errors.invalidConfig, flag, value, `a duration such as 90s or 720h, at least ${minMs} ms`);
  return ms;
}

const PULL_POLICIES = ['IfNotPresent', 'Always', 'Never'];

/** Pure: --sidecar-resources, a JSON object of requests and/or limits. */
function sidecarResources(text: string): V1ResourceRequirements {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const ok = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((q) => typeof q === 'string' || typeof q === 'number'));
  const r = parsed as Record<string, unknown> | undefined;
  if (r === undefined || typeof r !== 'object' || r === null || Array.isArray(r) || Object.keys(r).some((k) => k !== 'requests' && k !== 'limits') || !ok(r.requests) || !ok(r.limits)) {
    throw lullError(errors.invalidConfig, '--sidecar-resources', text, 'a JSON object with requests and/or limits, e.g. {"requests":{"cpu":"10m"}}');
  }
  const quantities = (v: unknown) => Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, q]) => [k, String(q)]));
  return { ...(r.requests ? { requests: quantities(r.requests) } : {}), ...(r.limits ? { limits: quantities(r.limits) } : {}) };
}

/** Pure: reads nothing but its arguments. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '9443' },
      namespace: { type: 'string', default: env.POD_NAMESPACE || SYSTEM_NAMESPACE },
      service: { type: 'string', default: 'lull-webhook' },
      'dns-name': { type: 'string', multiple: true, default: [] },
      'ip-address': { type: 'string', multiple: true, default: [] },
      secret: { type: 'string', default: 'lull-webhook-tls' },
      'ca-secret': { type: 'string' },
      'drain-key-secret': { type: 'string', default: 'lull-drain-key' },
      'mutating-config': { type: 'string', default: 'lull-webhook' },
      'validating-config': { type: 'string', default: 'lull-webhook' },
      'cert-validity': { type: 'string', default: '8760h' },
      'renew-before': { type: 'string' },
      'ca-validity': { type: 'string', default: '87600h' },
      'ca-overlap': { type: 'string', default: '1h' },
      resync: { type: 'string', default: '5m' },
      'sidecar-image': { type: 'string' },
      'sidecar-resources': { type: 'string' },
      'sidecar-image-pull-policy': { type: 'string', default: 'IfNotPresent' },
      'sidecar-image-pull-secret': { type: 'string', multiple: true, default: [] },
      'sidecar-version': { type: 'string', default: LULL_VERSION },
      'shutdown-delay': { type: 'string', default: '3s' },
      'trusted-user': { type: 'string', multiple: true, default: [] },
      kubeconfig: { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw lullError(errors.invalidConfig, '--port', values.port, 'a port from 1 to 65535');
  for (const ip of values['ip-address']) if (isIP(ip) === 0) throw lullError(errors.invalidConfig, '--ip-address', ip, 'an IPv4 or IPv6 address');

  const certValidityMs = duration('--cert-validity', values['cert-validity'], 1000);
  const renewBeforeMs = values['renew-before'] === undefined ? Math.floor(certValidityMs / 3) : duration('--renew-before', values['renew-before'], 1);
  if (renewBeforeMs >= certValidityMs) throw lullError(errors.invalidConfig, '--renew-before', values['renew-before'], 'shorter than --cert-validity');
  const caValidityMs = duration('--ca-validity', values['ca-validity'], 1000);
  if (caValidityMs <= 2 * certValidityMs) throw lullError(errors.invalidConfig, '--ca-validity', values['ca-validity'], 'more than twice --cert-validity');

  const pullPolicy = values['sidecar-image-pull-policy'];
  if (!PULL_POLICIES.includes(pullPolicy)) throw lullError(errors.invalidConfig, '--sidecar-image-pull-policy', pullPolicy, PULL_POLICIES.join(', '));
  const resources = values['sidecar-resources'] === undefined ? undefined : sidecarResources(values['sidecar-resources']);
  const resyncMs = duration('--resync', values.resync, 100);
  // Every replica looks at the Secrets at least once per resync: by then it serves from the new CA.
  const caOverlapMs = duration('--ca-overlap', values['ca-overlap'], 1000);
  if (caOverlapMs <= resyncMs) throw lullError(errors.invalidConfig, '--ca-overlap', values['ca-overlap'], 'longer than --resync');
  const secretName = values.secret;
  const caSecretName = values['ca-secret'] ?? (secretName.endsWith('-tls') ? `${secretName.slice(0, -4)}-ca` : `${secretName}-ca`);
  if (caSecretName === secretName) throw lullError(errors.invalidConfig, '--ca-secret', caSecretName, 'a Secret other than --secret');

  const { namespace, service } = values;
  const serviceNames = service ? [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`] : [];
  const version = values['sidecar-version'];
  return {
    host: values.host,
    port,
    namespace,
    secretName,
    caSecretName,
    drainKeySecretName: values['drain-key-secret'],
    mutatingConfigName: values['mutating-config'],
    validatingConfigName: values['validating-config'],
    tls: {
      dnsNames: [...new Set([...serviceNames, ...values['dns-name']])],
      ipAddresses: [...new Set(values['ip-address'])],
      certValidityMs,
      renewBeforeMs,
      caValidityMs,
      caOverlapMs,
    },
    resyncMs,
    sidecarImage: values['sidecar-image'] ?? `${LULL_IMAGE_REPOSITORY}:${version}`,
    sidecarPullPolicy: pullPolicy,
    sidecarPullSecrets: values['sidecar-image-pull-secret'],
    ...(resources ? { sidecarResources: resources } : {}),
    version,
    shutdownDelayMs: duration('--shutdown-delay', values['shutdown-delay'], 0),
    trustedUsers: values['trusted-user'],
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
  };
}
