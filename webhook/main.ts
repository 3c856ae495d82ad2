// `lull webhook`: wires configuration, informers, TLS and the server together.
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { V1Deployment, V1Namespace, V1Service } from '@kubernetes/client-node';
import { EXCLUDED_NAMESPACES } from '../core/annotations.ts';
import { LullError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import type { AdmissionContext } from './admission-context.ts';
import { backendOf } from './backends.ts';
import { writeCaBundle, type WebhookConfigKind } from './ca-bundle.ts';
import { certRotation } from './cert-rotation.ts';
import { ensureTls, secretApi } from './cert-store.ts';
import { ensureDrainKey } from './drain-key.ts';
import { parseConfig, USAGE, type WebhookConfig } from './config.ts';
import { informer } from '../core/informer.ts';
import { kubeClient, loadKubeConfig } from '../core/kube-client.ts';
import { createMetrics } from './metrics.ts';
import { buildServer, type WebhookServer } from './server.ts';
import { serviceFacts } from './warnings.ts';

const SYNC_WAIT_MS = 10_000;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: WebhookConfig;
  try {
    config = parseConfig(argv);
  } catch (err) {
    process.stderr.write(`lull webhook: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const logger = createLogger('webhook');
  const client = kubeClient(loadKubeConfig(config.kubeconfig));
  const metrics = createMetrics();

  const excluded = [...new Set([...EXCLUDED_NAMESPACES, config.namespace])];
  // Only what the handlers read is kept of each object, so memory stays small.
  const cache = <T>(resource: string, path: string, transform: (object: any) => T, fieldSelector?: string) =>
    informer({ client, logger, path, transform, ...(fieldSelector ? { fieldSelector } : {}), onSynced: () => metrics.informerSynced.set({ resource }, 1) });
  const notExcluded = excluded.map((ns) => `metadata.namespace!=${ns}`).join(',');
  const namespaces = cache('namespaces', '/api/v1/namespaces', (ns: V1Namespace) => ns.metadata?.labels ?? {});
  const deployments = cache('deployments', '/apis/apps/v1/deployments', (d: V1Deployment) => backendOf(d), notExcluded);
  // Only for warnings (a Service that keeps an app from sleeping): admissions never wait for it.
  const services = cache('services', '/api/v1/services', (s: V1Service) => serviceFacts(s), notExcluded);
  metrics.informerSynced.set({ resource: 'namespaces' }, 0);
  metrics.informerSynced.set({ resource: 'deployments' }, 0);
  metrics.informerSynced.set({ resource: 'services' }, 0);
  namespaces.start();
  deployments.start();
  services.start();

  const context: AdmissionContext = {
    ownNamespace: config.namespace,
    trustedUsers: config.trustedUsers,
    inject: { image: config.sidecarImage, version: config.version, pullPolicy: config.sidecarPullPolicy, pullSecrets: config.sidecarPullSecrets, ...(config.sidecarResources ? { resources: config.sidecarResources } : {}) },
    namespaceLabels: (name) => (namespaces.hasSynced() ? namespaces.get('', name) : undefined),
    backends: (namespace) => (deployments.hasSynced() ? deployments.list(namespace) : undefined),
    services: (namespace) => (services.hasSynced() ? services.list(namespace) : undefined),
  };

  const configurations: Array<[WebhookConfigKind, string]> = [
    ['mutatingwebhookconfigurations', config.mutatingConfigName],
    ['validatingwebhookconfigurations', config.validatingConfigName],
  ];
  let server: WebhookServer | undefined;
  const secrets = { ca: secretApi(client, config.namespace, config.caSecretName), serving: secretApi(client, config.namespace, config.secretName) };
  const rotation = certRotation({
    settings: config.tls,
    ensure: (inUse) => ensureTls(secrets, config.tls, logger, Date.now, inUse),
    publishBundle: async (bundle) => {
      for (const [kind, name] of configurations) {
        if (name && !(await writeCaBundle(client, kind, name, bundle))) logger.warn({ kind, name }, 'webhook configuration not found; its caBundle is written once it exists');
      }
    },
    swap: (serving) => server?.setCertificate(serving),
    logger,
    metrics,
    resyncMs: config.resyncMs,
    jitterMs: Math.min(config.tls.renewBeforeMs / 20, 60_000),
  });

  let material;
  try {
    material = await rotation.check();
    context.drainKey = await ensureDrainKey(secretApi(client, config.namespace, config.drainKeySecretName), logger);
  } catch (err) {
    logger.fatal({ err }, err instanceof LullError ? err.message : 'cannot load the webhook certificate or drain key');
    namespaces.stop();
    deployments.stop();
    services.stop();
    return 1;
  }
  // Registered by URL there is no readiness gate: give the caches a moment before answering (they answer
  // "change nothing" while unsynced anyway).
  await Promise.race([Promise.all([namespaces.synced, deployments.synced]), delay(SYNC_WAIT_MS, undefined, { ref: false })]);
  let stopping = false;
  server = buildServer({ context, metrics, logger, tls: material.serving, ready: () => !stopping && namespaces.hasSynced() && deployments.hasSynced() });
  await server.app.listen({ host: config.host, port: config.port });
  rotation.start();
  logger.info({ host: config.host, port: config.port, version: config.version, image: config.sidecarImage }, 'webhook listening');

  await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  // Keep answering while the endpoints forget this replica: a refused connection would skip Lull.
  stopping = true;
  logger.info({ delayMs: config.shutdownDelayMs }, 'stopping');
  await delay(config.shutdownDelayMs);
  rotation.stop();
  namespaces.stop();
  deployments.stop();
  services.stop();
  await server.app.close();
  return 0;
}
