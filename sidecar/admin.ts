// The admin port (never the app's): activity for the reconciler, readiness for the kubelet and the
// interceptor, the preStop drain, metrics and liveness. Reads are open to the pod network; a drain only
// to the pod's own lifecycle; long polls are bounded in time and number.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatDuration, parseDuration } from '../core/duration.ts';
import { errors, lullError, type LullError } from '../core/errors.ts';
import { SIDECAR_DRAIN_MAX_MS, SIDECAR_DRAIN_TOKEN_HEADER, SIDECAR_ENV, SIDECAR_MAX_LONG_POLLS, SIDECAR_PATHS, SIDECAR_WAIT_READY_MAX_MS, type ActivitySnapshot } from '../core/sidecar-contract.ts';
import type { DrainOptions, DrainResult } from './drain.ts';
import type { Peer } from './peers.ts';
import type { Readiness } from './readiness.ts';
import type { Registry } from 'prom-client';

export interface AdminHandlers {
  snapshot(): ActivitySnapshot;
  readiness: Readiness;
  drain(options: Partial<DrainOptions>): Promise<DrainResult>;
  /** Only what /metrics needs: the sidecar loads prom-client after its wake (deferred-metrics.ts). */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** Where a connection comes from (peers.ts); without it nobody may drain. */
  peer?(remoteAddress: string | undefined): Peer;
  /** The Deployment's drain token; undefined for a sidecar injected without one. */
  drainToken?: string | undefined;
  /** The most a drain may ask for (LULL_DRAIN_MAX). */
  drainMaxMs?: number;
  /** Wait-ready polls held at once (SIDECAR_MAX_LONG_POLLS). */
  maxLongPolls?: number;
}

const NOBODY = (): Peer => 'other';

export const WAIT_READY_DEFAULT_MS = 30_000;
/** Seconds a caller turned away for too many long polls should wait: polls end within the default wait. */
const BUSY_RETRY_AFTER_S = 1;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string | number>): void {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json', headers);
}

function refuse(res: ServerResponse, err: LullError, headers?: Record<string, string | number>): void {
  json(res, err.status, { code: err.code, message: err.message }, headers);
}

/** A duration query parameter, up to `max`: undefined when absent, a LullError when not allowed. */
function durationParam(query: URLSearchParams, name: string, max: number, limit: string): number | undefined | LullError {
  const value = query.get(name);
  if (value === null) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
  if (ms === undefined || ms > max) return lullError(errors.adminParameter, name, value, `a duration such as 2s or 500ms, at most ${formatDuration(max)} (${limit})`);
  return ms;
}

function sameToken(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  // node:crypto on the first drain, not at start: loading it costs a waking sidecar several ms.
  return a.length === b.length && process.getBuiltinModule('node:crypto').timingSafeEqual(a, b);
}

/**
 * Who may start a drain: the pod's own containers (loopback); with a token configured, whoever sends
 * it (the kubelet running the preStop hook the webhook wrote); without one, the node (the kubelet).
 */
function drainRefusal(req: IncomingMessage, h: Pick<AdminHandlers, 'peer' | 'drainToken'>): LullError | undefined {
  const peer = (h.peer ?? NOBODY)(req.socket.remoteAddress);
  if (peer === 'pod') return undefined;
  if (h.drainToken !== undefined) {
    if (sameToken(req.headers[SIDECAR_DRAIN_TOKEN_HEADER.toLowerCase()], h.drainToken)) return undefined;
    return lullError(errors.drainForbidden, `header ${SIDECAR_DRAIN_TOKEN_HEADER} is missing or wrong`);
  }
  if (peer === 'node') return undefined;
  return lullError(errors.drainForbidden, `this sidecar has no ${SIDECAR_ENV.drainToken}, so only its node and its pod may drain it, not ${req.socket.remoteAddress}`);
}

export function createAdminServer(h: AdminHandlers): Server {
  const drainMaxMs = h.drainMaxMs ?? SIDECAR_DRAIN_MAX_MS;
  const maxLongPolls = h.maxLongPolls ?? SIDECAR_MAX_LONG_POLLS;
  let longPolls = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'only GET is served here\n');
    }
    switch (url.pathname) {
      case SIDECAR_PATHS.healthz:
        return send(res, 200, 'ok\n');
      case SIDECAR_PATHS.activity:
        return json(res, 200, h.snapshot());
      case SIDECAR_PATHS.ready:
        return h.readiness.ready ? send(res, 200, 'ready\n') : send(res, 503, 'the app is not ready\n');
      case SIDECAR_PATHS.waitReady: {
        const timeout = durationParam(url.searchParams, 'timeout', SIDECAR_WAIT_READY_MAX_MS, 'ask again for a longer wait');
        if (timeout instanceof Error) return refuse(res, timeout);
        if (h.readiness.ready) return json(res, 200, { ready: true, waitedMs: 0 });
        if (longPolls >= maxLongPolls) return refuse(res, lullError(errors.adminBusy, maxLongPolls), { 'Retry-After': BUSY_RETRY_AFTER_S });
        longPolls++;
        const started = Date.now();
        const gone = new AbortController();
        res.once('close', () => gone.abort()); // The caller gave up: forget its wait.
        try {
          const ready = await h.readiness.waitReady(timeout ?? WAIT_READY_DEFAULT_MS, gone.signal);
          if (!res.destroyed) json(res, ready ? 200 : 503, { ready, waitedMs: Date.now() - started });
        } finally {
          longPolls--;
        }
        return;
      }
      case SIDECAR_PATHS.drain: {
        const refusal = drainRefusal(req, h);
        if (refusal !== undefined) return refuse(res, refusal);
        const maxMs = durationParam(url.searchParams, 'max', drainMaxMs, SIDECAR_ENV.drainMax);
        if (maxMs instanceof Error) return refuse(res, maxMs);
        const quietMs = durationParam(url.searchParams, 'quiet', maxMs ?? drainMaxMs, "the drain's max");
        if (quietMs instanceof Error) return refuse(res, quietMs);
        const options: Partial<DrainOptions> = {};
        if (quietMs !== undefined) options.quietMs = quietMs;
        if (maxMs !== undefined) options.maxMs = maxMs;
        // A drain already under way is joined as it is: these options only shape a new one.
        const result = await h.drain(options);
        // Always 200: the kubelet records a failed preStop hook, and running out of time is not a failure.
        if (!res.destroyed) json(res, 200, result);
        return;
      }
      case SIDECAR_PATHS.metrics: {
        const body = await h.registry.metrics();
        return send(res, 200, body, h.registry.contentType);
      }
      default:
        return send(res, 404, `no such admin path; try ${Object.values(SIDECAR_PATHS).join(', ')}\n`);
    }
  });
  // Long polls are bounded by their own timeouts (wait-ready) and LULL_DRAIN_MAX (drain), not by a request timeout.
  server.requestTimeout = 0;
  return server;
}
