// The sidecar's settings, read from the environment the webhook writes (core/sidecar-contract.ts).
// Pure: a bad value throws a LullError naming the variable, the value and what is allowed.
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_DRAIN_MAX_MS, SIDECAR_DRAIN_QUIET_MS, SIDECAR_ENV, SIDECAR_LIMITS, type SidecarLimits } from '../core/sidecar-contract.ts';
import { parseNodeAddresses } from './peers.ts';
import { checkFromProbe, type AppCheck } from './probe.ts';

export interface PortMapping {
  /** Port the sidecar accepts on (0 in tests: any free port). */
  listen: number;
  /** The app's port on localhost. */
  app: number;
}

export interface SidecarConfig {
  ports: PortMapping[];
  adminPort: number;
  /** Address the app is reached at: it shares the pod's network namespace. */
  appHost: string;
  /** How readiness is checked: the app's own probe, or a TCP connect to its first fronted port. */
  readiness: AppCheck;
  drainQuietMs: number;
  drainMaxMs: number;
  /** The node's addresses: a kube-probe request counts as a probe only from these (or loopback). */
  nodeAddresses?: string[];
  /** Required of a drain request from outside the pod; without one, only the node may drain. */
  drainToken?: string;
  /** Timeouts and the connection cap; SIDECAR_LIMITS for what is absent. */
  limits?: Partial<SidecarLimits>;
}

export const APP_HOST = '127.0.0.1';
const PORTS_ALLOWED = 'comma-separated listen=app port pairs such as "9931=8080,9932=9090", ports 1-65535, each listen port once';

function invalid(name: string, value: string, allowed: string): never {
  throw lullError(errors.invalidConfig, name, value, allowed);
}

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

export function parsePorts(value: string): PortMapping[] | undefined {
  const mappings: PortMapping[] = [];
  for (const pair of value.split(',')) {
    const m = /^\s*(\d+)\s*=\s*(\d+)\s*$/.exec(pair);
    const listen = m && port(m[1]!);
    const app = m && port(m[2]!);
    if (!listen || !app || listen === app || mappings.some((p) => p.listen === listen || p.app === listen || p.listen === app)) return undefined;
    mappings.push({ listen, app });
  }
  return mappings;
}

function duration(env: Record<string, string | undefined>, name: string, fallback: number, allowed: string): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0 || ms > 3_600_000) invalid(name, value, allowed);
  return ms;
}

export function parseSidecarConfig(env: Record<string, string | undefined>): SidecarConfig {
  const portsValue = env[SIDECAR_ENV.ports] ?? '';
  const ports = parsePorts(portsValue);
  if (ports === undefined || ports.length === 0) invalid(SIDECAR_ENV.ports, portsValue, PORTS_ALLOWED);

  const adminValue = env[SIDECAR_ENV.adminPort];
  const adminPort = adminValue === undefined || adminValue === '' ? SIDECAR_ADMIN_PORT : port(adminValue);
  if (adminPort === undefined || ports.some((p) => p.listen === adminPort || p.app === adminPort)) {
    invalid(SIDECAR_ENV.adminPort, adminValue ?? '', 'a port number 1-65535 that is neither a listen nor an app port');
  }

  const probeValue = env[SIDECAR_ENV.appReadiness];
  let probe: unknown;
  if (probeValue !== undefined && probeValue !== '') {
    try {
      probe = JSON.parse(probeValue);
    } catch {
      invalid(SIDECAR_ENV.appReadiness, probeValue, 'JSON of a Kubernetes Probe (httpGet, tcpSocket, exec or grpc)');
    }
  }
  const readiness = checkFromProbe(probe, APP_HOST, ports[0]!.app);
  if ('error' in readiness) invalid(SIDECAR_ENV.appReadiness, probeValue ?? '', readiness.error);

  const drainQuietMs = duration(env, SIDECAR_ENV.drainQuiet, SIDECAR_DRAIN_QUIET_MS, 'a duration such as 2s or 500ms, up to 1h');
  const drainMaxMs = duration(env, SIDECAR_ENV.drainMax, SIDECAR_DRAIN_MAX_MS, 'a duration such as 30s or 2m, up to 1h');
  const nodeValue = env[SIDECAR_ENV.nodeIps] ?? '';
  const nodeAddresses = parseNodeAddresses(nodeValue);
  if (nodeAddresses === undefined) invalid(SIDECAR_ENV.nodeIps, nodeValue, 'comma-separated IP addresses (the downward API status.hostIPs)');
  const drainToken = env[SIDECAR_ENV.drainToken] ?? '';
  if (drainToken !== '' && !/^[\x21-\x7e]{16,256}$/.test(drainToken)) invalid(SIDECAR_ENV.drainToken, '(hidden)', '16 to 256 visible ASCII characters');
  const headTimeoutMs = duration(env, SIDECAR_ENV.headTimeout, SIDECAR_LIMITS.headTimeoutMs, 'a duration such as 60s or 10s, up to 1h');
  const idleTimeoutMs = duration(env, SIDECAR_ENV.idleTimeout, SIDECAR_LIMITS.idleTimeoutMs, 'a duration such as 5m or 90s, up to 1h');
  if (headTimeoutMs === 0) invalid(SIDECAR_ENV.headTimeout, env[SIDECAR_ENV.headTimeout] ?? '', 'a duration above 0, up to 1h');
  if (idleTimeoutMs === 0) invalid(SIDECAR_ENV.idleTimeout, env[SIDECAR_ENV.idleTimeout] ?? '', 'a duration above 0, up to 1h');
  const maxValue = env[SIDECAR_ENV.maxConnections];
  let maxConnections = SIDECAR_LIMITS.maxConnections;
  if (maxValue !== undefined && maxValue !== '') {
    maxConnections = /^\d{1,7}$/.test(maxValue) ? Number(maxValue) : 0;
    if (maxConnections < 1) invalid(SIDECAR_ENV.maxConnections, maxValue, 'a whole number from 1 to 9999999');
  }
  const limits = { headTimeoutMs, idleTimeoutMs, maxConnections };
  return { ports, adminPort, appHost: APP_HOST, readiness, drainQuietMs, drainMaxMs, nodeAddresses, ...(drainToken !== '' ? { drainToken } : {}), limits };
}
