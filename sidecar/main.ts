// `lull sidecar`: reads the webhook's environment, serves, and on SIGTERM drains before exiting.
// pino loads after the wake (as the metrics do): a waking request does not wait for a logger.
import { LullError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { SIDECAR_DRAIN_TOKEN_HEADER, SIDECAR_ENV } from '../core/sidecar-contract.ts';
import { parseSidecarConfig } from './config.ts';
import { startSidecar } from './sidecar.ts';

const USAGE = `usage: lull sidecar

Fronts the app's ports in its pod; configured by environment variables (the webhook sets them):
  ${SIDECAR_ENV.ports}           listen=app port pairs, e.g. 9931=8080,9932=9090 (required)
  ${SIDECAR_ENV.adminPort}      admin port: /lull/activity, /lull/ready, /lull/wait-ready, /lull/drain, /metrics, /healthz
  ${SIDECAR_ENV.appReadiness}  JSON of the app container's readiness probe (optional)
  ${SIDECAR_ENV.drainQuiet}     quiet period a drain waits for (default 2s)
  ${SIDECAR_ENV.drainMax}       longest a drain waits, and the most /lull/drain?max= may ask (default 30s)
  ${SIDECAR_ENV.nodeIps}        the node's addresses (status.hostIPs): kube-probe requests count as probes only from these
  ${SIDECAR_ENV.drainToken}     token /lull/drain requires in ${SIDECAR_DRAIN_TOKEN_HEADER} (loopback excepted); unset: only the node may drain
  ${SIDECAR_ENV.headTimeout}     longest wait for a complete request head (default 60s; then 408)
  ${SIDECAR_ENV.idleTimeout}     idle keep-alive client connections are closed after this (default 5m)
  ${SIDECAR_ENV.maxConnections}  client connections at once, all ports (default 10000; then 503 or close)
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`lull sidecar: unexpected arguments ${JSON.stringify(argv)}\n\n${USAGE}`);
    return 2;
  }
  let logger: Promise<Logger> | undefined;
  const logging = () => (logger ??= import('../core/log.ts').then((m) => m.createLogger('sidecar')));
  let config;
  try {
    config = parseSidecarConfig(process.env);
  } catch (err) {
    if (!(err instanceof LullError)) throw err;
    (await logging()).error({ code: err.code }, err.message);
    return 2;
  }
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const sidecar = await startSidecar(config);
  void sidecar.afterWake.then(async () => {
    const log = await logging();
    const { processStartedAt, listeningAt, appReadyAt } = sidecar.boot;
    const listeningMs = Math.round((listeningAt - processStartedAt) * 10) / 10;
    log.info({ ports: sidecar.ports, adminPort: sidecar.adminPort, readiness: config.readiness, listeningMs }, 'sidecar serving');
    if (sidecar.readiness.ready) log.info({ ready: true, afterStartMs: Math.round(appReadyAt - processStartedAt) }, 'app ready');
    sidecar.readiness.onChange((ready) => log.info({ ready }, ready ? 'app ready' : 'app not ready'));
  });

  const signal = await signalled;
  const log = await logging();
  log.info({ signal }, 'draining before exit');
  const result = await sidecar.shutdown();
  log.info(result, 'drained; exiting');
  return 0;
}
