// How the webhook configures the sidecar and how other parts reach it (docs/design.md "The contract").

/** Environment variables the webhook sets on the sidecar container. */
export const SIDECAR_ENV = {
  /** Fronted ports, "listen=app" pairs separated by commas, e.g. "9931=8080,9932=9090". */
  ports: 'LULL_PORTS',
  /** Admin HTTP port: activity, readiness, drain, metrics. */
  adminPort: 'LULL_ADMIN_PORT',
  /** JSON of the app container's own readiness probe (a Kubernetes Probe), when it has one. */
  appReadiness: 'LULL_APP_READINESS',
  /** Quiet period the drain waits for (Go-style duration). */
  drainQuiet: 'LULL_DRAIN_QUIET',
  /** Longest a drain may take (Go-style duration); also the most a `/lull/drain?max=` may ask for. */
  drainMax: 'LULL_DRAIN_MAX',
  /** The node's addresses (downward API `status.hostIPs`, comma-separated): where the kubelet's probes and hooks come from. */
  nodeIps: 'LULL_NODE_IPS',
  /** Secret the preStop hook sends in `X-Lull-Drain-Token`; a drain without it is refused (loopback excepted). */
  drainToken: 'LULL_DRAIN_TOKEN',
  /** Longest wait for a complete request head, from its first byte (Go-style duration). */
  headTimeout: 'LULL_HEAD_TIMEOUT',
  /** An idle keep-alive client connection is closed after this (Go-style duration). */
  idleTimeout: 'LULL_IDLE_TIMEOUT',
  /** Client connections open at once, all fronted ports together; more are refused. */
  maxConnections: 'LULL_MAX_CONNECTIONS',
} as const;

/** Header of the preStop httpGet that carries the Deployment's drain token. */
export const SIDECAR_DRAIN_TOKEN_HEADER = 'X-Lull-Drain-Token';

export const SIDECAR_CONTAINER_NAME = 'lull-sidecar';
/** The one Lull image; the sidecar is `lull sidecar` from it, tagged with the Lull version. */
export const LULL_IMAGE_REPOSITORY = 'ghcr.io/lull-dev/lull';
export const SIDECAR_ARGS: readonly string[] = ['sidecar'];
export const SIDECAR_ADMIN_PORT = 9930;
/** Name of the admin port on the sidecar container: how other parts find it when 9930 was taken. */
export const SIDECAR_ADMIN_PORT_NAME = 'lull-admin';
/** Fronting ports are allocated upwards from here, skipping any port the pod already uses. */
export const SIDECAR_FIRST_PROXY_PORT = 9931;
export const SIDECAR_DRAIN_QUIET_MS = 2000;
export const SIDECAR_DRAIN_MAX_MS = 30_000;
/** Longest `/lull/wait-ready?timeout=`: a longer wait is asked again (the interceptor polls in chunks). */
export const SIDECAR_WAIT_READY_MAX_MS = 300_000;
/** Long polls (wait-ready, drain) the admin port holds open at once; more get 503 with Retry-After. */
export const SIDECAR_MAX_LONG_POLLS = 64;

/** Protection of the sidecar and the app against slow or endless clients. */
export interface SidecarLimits {
  /** A request head (or a first line being sniffed) must be complete this long after its first byte. */
  headTimeoutMs: number;
  /** An idle keep-alive client connection is closed after this. */
  idleTimeoutMs: number;
  /** Client connections open at once; the next is refused (HTTP: 503 LULL_SIDECAR_FULL; other protocols: closed). */
  maxConnections: number;
}

/**
 * Head timeout as Node's headersTimeout and nginx's client_header_timeout (60 s); idle keep-alive
 * longer than the pools of common clients (Go 90 s, Node agent 4 s) so the client, not us, closes;
 * the connection cap as nginx's worker_connections order of magnitude.
 */
export const SIDECAR_LIMITS: SidecarLimits = { headTimeoutMs: 60_000, idleTimeoutMs: 5 * 60_000, maxConnections: 10_000 };

/**
 * Name of the sidecar's container port that fronts app port `appPort` ("lull-8080"). Services are
 * pointed at this name, so each pod resolves it to its own sidecar port and pods without the
 * sidecar are simply not endpoints for it.
 */
export function sidecarPortName(appPort: number): string {
  return `lull-${appPort}`;
}

/** Admin endpoints. */
export const SIDECAR_PATHS = {
  activity: '/lull/activity',
  ready: '/lull/ready',
  waitReady: '/lull/wait-ready',
  drain: '/lull/drain',
  metrics: '/metrics',
  healthz: '/healthz',
} as const;

/** What GET /lull/activity answers. Times are epoch milliseconds. */
export interface ActivitySnapshot {
  /** Last time a request or a connection's bytes arrived; 0 when nothing has arrived yet. */
  lastActivityAt: number;
  /** Requests (HTTP) plus connections (layer 4) in flight now. */
  inFlight: number;
  /** HTTP requests awaiting their response; an upgraded request (WebSocket) stays in flight until it closes. */
  requestsInFlight: number;
  /** Layer-4 connections open now (h2c, gRPC, TLS, other TCP): open is not busy, their bytes move lastActivityAt. */
  connectionsInFlight: number;
  /** HTTP requests, kubelet probes excepted. */
  requestsTotal: number;
  /** Layer-4 connections (anything that is not HTTP/1.x). */
  connectionsTotal: number;
  ready: boolean;
  /** A drain has started: the pod is stopping, and HTTP responses carry `Connection: close`. */
  draining: boolean;
  startedAt: number;
  now: number;
  /** How this sidecar came up, for cold-start breakdowns; absent from sidecars that predate it. */
  boot?: SidecarBoot;
  /** The last full second's load (request-based scaling); absent until a second has passed, and from older sidecars. */
  load?: SidecarLoad;
}

/** Averages over the sidecar's last full second (sidecar/load.ts). */
export interface SidecarLoad {
  /** HTTP requests in flight, averaged over ten samples. */
  concurrency: number;
  /** HTTP requests that arrived, per second (kubelet probes from the node excepted). */
  rps: number;
  /** The length of that second as measured, ms. */
  windowMs: number;
  /** Epoch ms at its end. */
  at: number;
}

/** Epoch milliseconds (fractional) of the sidecar's start-up steps; 0 for a step not reached yet. */
export interface SidecarBoot {
  /** The process began (Node's time origin). */
  processStartedAt: number;
  /** Every fronted port and the admin port accept connections. */
  listeningAt: number;
  /** The app first passed its readiness check. */
  appReadyAt: number;
}
