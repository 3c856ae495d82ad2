// The admin port: liveness, readiness (routes known and listeners open, and not shutting down:
// the reconciler puts only ready interceptor pods in the slices), and Prometheus metrics.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export const ADMIN_PATHS = { healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' } as const;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

export function createAdminServer(isReady: () => string | undefined, registry: Registry): Server {
  return createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET is served here\n');
    switch (path) {
      case ADMIN_PATHS.healthz:
        return send(res, 200, 'ok\n');
      case ADMIN_PATHS.readyz: {
        const notReady = isReady();
        return notReady === undefined ? send(res, 200, 'ready\n') : send(res, 503, `${notReady}\n`);
      }
      case ADMIN_PATHS.metrics:
        return send(res, 200, await registry.metrics(), registry.contentType);
      default:
        return send(res, 404, `no such admin path; try ${Object.values(ADMIN_PATHS).join(', ')}\n`);
    }
  });
}
