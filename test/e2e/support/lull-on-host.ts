// Lull's parts as processes on the host (`node bin/lull.ts <part>`), as e2e tests and benchmarks run them:
// each logs to a file, the webhook is registered by URL on the cluster bridge's gateway address.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { clusterLayout } from '../../cluster/layout.ts';
import { REPO, run, type Kubectl } from './kubectl.ts';
import { waitFor } from './wait.ts';
import { webhookConfigurations } from './webhook-registration.ts';

export const GATEWAY = clusterLayout().gateway;
const BIN = resolve(REPO, 'bin/lull.ts');

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** `lull <args>` as a host process; its output goes to `logFile` (appended) unless the caller reads it. */
export function spawnLull(args: readonly string[], options: { logFile?: string; logLevel?: string } = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LULL_LOG_LEVEL: options.logLevel ?? 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile !== undefined) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  return child;
}

export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, 'exit');
}

/** The CLI (`lull status …`) on a kubeconfig, the ambient KUBECONFIG cleared so only the flag counts. */
export const lullCli = (kubeconfig: string) => (...args: string[]) =>
  run(process.execPath, [BIN, ...args, '--kubeconfig', kubeconfig], { env: { ...process.env, KUBECONFIG: '' } });

export interface HostWebhookOptions {
  kubectl: Kubectl;
  /** Names its webhook configurations and (with -tls, -ca) its Secrets in lull-system. */
  name: string;
  /** Only namespaces labelled `<scopeLabel>=true` are sent to it. */
  scopeLabel: string;
  logFile: string;
  /** More `lull webhook` flags (certificate validity, resync). */
  args?: string[];
}

export interface HostWebhook {
  port: number;
  child(): ChildProcess | undefined;
  /** Starts the process and waits until it has written its caBundle. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its registration and Secrets. */
  remove(): Promise<void>;
}

/** Registers a `lull webhook` on the host (fresh Secrets) and starts it. */
export async function startHostWebhook(options: HostWebhookOptions): Promise<HostWebhook> {
  const { kubectl, name } = options;
  const port = await freePort(GATEWAY);
  const secrets = [`${name}-tls`, `${name}-ca`];
  await kubectl(['create', 'namespace', 'lull-system']).catch(() => undefined);
  await kubectl(['delete', 'secret', ...secrets, '-n', 'lull-system', '--ignore-not-found']);
  await kubectl.apply(...webhookConfigurations(name, `https://${GATEWAY}:${port}`, options.scopeLabel));
  let child: ChildProcess | undefined;
  const webhook: HostWebhook = {
    port,
    child: () => child,
    async start() {
      child = spawnLull(
        [
          'webhook',
          ...['--host', GATEWAY, '--port', String(port), '--service', '', '--ip-address', GATEWAY],
          ...['--namespace', 'lull-system', '--secret', secrets[0]!, '--mutating-config', name, '--validating-config', name],
          ...['--shutdown-delay', '0s', ...(options.args ?? []), '--kubeconfig', kubectl.kubeconfig],
        ],
        { logFile: options.logFile },
      );
      const started = child;
      await waitFor('the webhook to write its caBundle', async () => {
        if (started.exitCode !== null) throw new Error(`lull webhook exited (${started.exitCode}); see ${options.logFile}`);
        return (await kubectl.json(['get', 'mutatingwebhookconfiguration', name])).webhooks?.[0]?.clientConfig?.caBundle !== undefined;
      }, 30_000, 100);
    },
    stop: () => stopProcess(child),
    async remove() {
      await stopProcess(child);
      await kubectl(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', name, '--ignore-not-found']).catch(() => undefined);
      await kubectl(['delete', 'secret', ...secrets, '-n', 'lull-system', '--ignore-not-found']).catch(() => undefined);
    },
  };
  await webhook.start();
  return webhook;
}
