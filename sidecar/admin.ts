// The admin port (never the app's): activity for the reconciler, readiness for the kubelet and the
// interceptor, the preStop drain, metrics and liveness.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseDuration } from '../core/duration.ts';
import { SIDECAR_PATHS, type ActivitySnapshot } from '../core/sidecar-contract.ts';
import type { DrainOptions, DrainResult } from './drain.ts';
import type { Readiness } from './readiness.ts';
import type { Registry } from 'prom-client';

export interface AdminHandlers {
  snapshot(): ActivitySnapshot;
  readiness: Readiness;
  drain(options: Partial<DrainOptions>): Promise<DrainResult>;
  registry: Registry;
}

export const WAIT_READY_DEFAULT_MS = 30_000;
/** The longest hold the interceptor allows (lull.dev/hold-timeout). */
export const WAIT_READY_MAX_MS = 3_600_000;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json');
}

/** A duration query parameter; undefined when absent, null when invalid. */
function durationParam(query: URLSearchParams, name: string, max: number): number | undefined | null {
  const value = query.get(name);
  if (value === null) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
  return ms === undefined || ms > max ? null : ms;
}

export function createAdminServer(h: AdminHandlers): Server {
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
        const timeout = durationParam(url.searchParams, 'timeout', WAIT_READY_MAX_MS);
        if (timeout === null) return send(res, 400, 'timeout must be a duration such as 30s or 500ms, up to 1h\n');
        const started = Date.now();
        const gone = new AbortController();
        res.once('close', () => gone.abort()); // The caller gave up: forget its wait.
        const ready = await h.readiness.waitReady(timeout ?? WAIT_READY_DEFAULT_MS, gone.signal);
        if (!res.destroyed) json(res, ready ? 200 : 503, { ready, waitedMs: Date.now() - started });
        return;
      }
      case SIDECAR_PATHS.drain: {
        const quietMs = durationParam(url.searchParams, 'quiet', WAIT_READY_MAX_MS);
        const maxMs = durationParam(url.searchParams, 'max', WAIT_READY_MAX_MS);
        if (quietMs === null || maxMs === null) return send(res, 400, 'quiet and max must be durations such as 2s or 30s, up to 1h\n');
        const options: Partial<DrainOptions> = {};
        if (quietMs !== undefined) options.quietMs = quietMs;
        if (maxMs !== undefined) options.maxMs = maxMs;
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
  // The preStop drain and wait-ready are long polls: no request timeout may cut them.
  server.requestTimeout = 0;
  return server;
}
