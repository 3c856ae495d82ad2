// `lull interceptor`: reads flags, connects to the cluster, serves, and on SIGTERM shuts down gently.
import { LullError } from '../core/errors.ts';
import { loadKubeConfig } from '../core/kube-client.ts';
import { createLogger } from '../core/log.ts';
import { parseConfig, USAGE, type InterceptorConfig } from './config.ts';
import { startInterceptor } from './interceptor.ts';
import { clusterApi } from './kube.ts';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = createLogger('interceptor');
  let config: InterceptorConfig;
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (!(err instanceof LullError)) throw err;
    process.stderr.write(`lull interceptor: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const kc = loadKubeConfig(config.kubeconfig);
  const interceptor = await startInterceptor({
    cluster: clusterApi(kc, log, config.namespace),
    log,
    host: config.host,
    adminPort: config.adminPort,
    maxHeldTotal: config.maxHeldTotal,
    maxHeldPerNamespace: config.maxHeldPerNamespace,
    maxConnecting: config.maxConnecting,
    appLingerMs: config.appLingerMs,
    source: { component: 'lull-interceptor', instance: config.instance },
  });
  log.info({ adminPort: interceptor.adminPort, server: kc.getCurrentCluster()?.server, namespace: config.namespace, maxHeldTotal: config.maxHeldTotal, maxHeldPerNamespace: config.maxHeldPerNamespace }, 'interceptor started');

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal, delayMs: config.shutdownDelayMs, graceMs: config.gracePeriodMs }, 'shutting down');
  await interceptor.shutdown(config.shutdownDelayMs, config.gracePeriodMs);
  log.info('stopped');
  // Connections still open past the grace period (a long WebSocket) end with the process.
  process.exit(0);
}
