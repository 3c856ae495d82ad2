// /healthz (the process answers), /readyz (caches synced and the Lease usable: a standby is ready to lead), /metrics.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../core/log.ts';
import type { ReconcilerMetrics } from './metrics.ts';

export interface Status {
  synced: boolean;
  leading: boolean;
  leader?: string;
  identity: string;
  stopping: boolean;
  /** Why the leader Lease cannot be taken; `lasting` ones (no namespace, no permission) make it unready. */
  leaseProblem?: { message: string; lasting: boolean };
}

export function buildServer(options: { metrics: ReconcilerMetrics; logger: Logger; status: () => Status }): FastifyInstance {
  const app = Fastify({ loggerInstance: options.logger, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  app.get('/healthz', async () => 'ok\n');
  app.get('/readyz', async (_req, reply) => {
    const status = options.status();
    reply.code(status.synced && !status.stopping && !status.leaseProblem?.lasting ? 200 : 503);
    return status;
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return app;
}
