// The webhook's HTTPS server: /mutate, /validate, /healthz, /readyz, /metrics.
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../core/log.ts';
import { LullError } from '../core/errors.ts';
import type { AdmissionContext } from './admission-context.ts';
import { answerInternalError } from './internal-error.ts';
import { readReview, reviewOf, type AdmissionRequest, type AdmissionResponse } from './admission-review.ts';
import type { WebhookMetrics } from './metrics.ts';
import { mutate } from './mutate.ts';
import { validate } from './validate.ts';

export interface ServingCertificate {
  keyPem: string;
  certPem: string;
}

export interface ServerOptions {
  context: AdmissionContext;
  metrics: WebhookMetrics;
  logger: Logger;
  /** Without it the server speaks plain HTTP (tests only). */
  tls?: ServingCertificate;
  /** Ready to take admissions: certificate loaded and caches synced. */
  ready: () => boolean;
}

export interface WebhookServer {
  app: FastifyInstance;
  /** Swaps the serving certificate in; connections made from now on get it. */
  setCertificate(tls: ServingCertificate): void;
}

// An AdmissionReview carries the object twice (object and oldObject); Deployments can be large.
const BODY_LIMIT = 8 * 1024 * 1024;

type Handler = (request: AdmissionRequest) => AdmissionResponse;

function outcomeOf(response: AdmissionResponse): string {
  return !response.allowed ? 'denied' : response.patch ? 'patched' : 'allowed';
}

export function buildServer(options: ServerOptions): WebhookServer {
  const { context, metrics, logger } = options;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger,
    // One line per admission that changed or refused something is logged below; per-request lines are noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    ...(options.tls ? { https: { key: options.tls.keyPem, cert: options.tls.certPem, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;

  const review = (webhook: 'mutate' | 'validate', handler: Handler) => {
    app.post(`/${webhook}`, async (req, reply) => {
      const request = readReview(req.body);
      if (request instanceof LullError) {
        reply.code(request.status);
        return { code: request.code, message: request.message };
      }
      let response: AdmissionResponse;
      let outcome: string;
      try {
        response = handler(request);
        outcome = outcomeOf(response);
      } catch (err) {
        // A bug must neither block the cluster nor waive Lull's checks: see internal-error.ts. Said loudly either way.
        response = answerInternalError(request, context);
        const answer = response.allowed ? 'allowed' : 'denied';
        logger.error({ err, webhook, answer, uid: request.uid, kind: request.kind.kind, name: request.name, namespace: request.namespace, user: request.userInfo?.username }, `admission failed; ${answer === 'allowed' ? 'allowed unchanged' : 'denied'}`);
        metrics.internalErrors.inc({ webhook, answer });
        outcome = 'error';
      }
      metrics.admissions.inc({ webhook, kind: request.kind.kind, operation: request.operation, outcome });
      metrics.duration.observe({ webhook }, reply.elapsedTime / 1000);
      if (outcome === 'denied' || outcome === 'patched') {
        logger[outcome === 'denied' ? 'info' : 'debug']({ webhook, outcome, kind: request.kind.kind, namespace: request.namespace, name: request.name, user: request.userInfo?.username, message: response.status?.message }, 'admission');
      }
      return reviewOf(response);
    });
  };
  review('mutate', (request) => mutate(request, context));
  review('validate', (request) => validate(request, context));

  app.get('/healthz', async () => 'ok');
  app.get('/readyz', async (_req, reply) => {
    if (options.ready()) return 'ok';
    reply.code(503);
    return 'not ready';
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    setCertificate(tls) {
      if (!options.tls) throw new Error('the server was started without TLS');
      (app.server as HttpsServer).setSecureContext({ key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.2' });
    },
  };
}
