// Lull's parts on the local cluster for e2e tests and benchmarks: interceptor pods from deploy/base,
// webhook and reconciler as host processes scoped to labelled namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { webhookConfigurations } from './webhook-registration.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const GATEWAY = '10.213.0.1';

export interface StackOptions {
  /** Names the webhook configuration, reconciler Lease and namespace label, so runs do not meet. */
  scope: string;
  kubeconfig?: string;
  kubectl?: string;
  log?: (line: string) => void;
}

export interface Stack {
  kubeconfig: string;
  /** Label that puts a namespace under this stack's webhook and reconciler. */
  scopeLabel: string;
  kubectl(args: string[], input?: string): Promise<string>;
  getJson<T = any>(args: string[]): Promise<T>;
  apply(object: unknown): Promise<string>;
  /** A fresh namespace under this stack. */
  namespace(prefix: string): Promise<string>;
  /** The interceptor pods, ready ones first. */
  interceptors(): Promise<any[]>;
  logDir: string;
  stop(): Promise<void>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Polls until `check` gives a value (not undefined/false); fails naming what it waited for. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The newest modification time of the code the interceptor pods run (the artefact built from it included). */
function newestSource(): number {
  let newest = existsSync(resolve(REPO, 'dist/lull.mjs')) ? statSync(resolve(REPO, 'dist/lull.mjs')).mtimeMs : 0;
  for (const dir of ['interceptor', 'core', 'bin']) {
    for (const entry of readdirSync(resolve(REPO, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(resolve(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

async function kubectlPath(): Promise<string> {
  const r = await run('bash', [resolve(REPO, 'scripts/control-plane.sh'), '--print-dir'], process.env);
  if (r.code !== 0) throw new Error(`scripts/control-plane.sh --print-dir failed: ${r.stderr}`);
  return resolve(r.stdout.trim().split('\n').pop()!, 'kubectl');
}


/** A kubeconfig for a service account (its token, the cluster's CA): Lull's parts on the host act as themselves. */
function serviceAccountKubeconfig(admin: string, token: string): string {
  const text = readFileSync(admin, 'utf8');
  const server = /server: (\S+)/.exec(text)![1]!;
  const ca = /certificate-authority-data: (\S+)/.exec(text)![1]!;
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: lull, cluster: {server: "${server}", certificate-authority-data: "${ca}"}}]`,
    `users: [{name: sa, user: {token: "${token}"}}]`,
    'contexts: [{name: sa, context: {cluster: lull, user: sa}}]',
    'current-context: sa',
    '',
  ].join('\n');
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const kubeconfig = options.kubeconfig ?? process.env.KUBECONFIG ?? resolve(REPO, '.lull/cluster/kubeconfig');
  const kubectlBin = options.kubectl ?? (await kubectlPath());
  const log = options.log ?? (() => {});
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const name = `lull-e2e-${options.scope}`;
  const scopeLabel = `e2e.lull.dev/${options.scope}`;
  const logDir = resolve(REPO, '.lull', name);
  mkdirSync(logDir, { recursive: true });
  const children: ChildProcess[] = [];

  const kubectl = async (args: string[], input?: string) => {
    const r = await run(kubectlBin, args, env, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  const getJson = async (args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json']));
  const apply = (object: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(object));

  const spawnPart = async (part: string, args: string[], kubeconfigFile: string) => {
    const out = createWriteStream(resolve(logDir, `${part}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [resolve(REPO, 'bin/lull.ts'), part, ...args, '--kubeconfig', kubeconfigFile], {
      env: { ...process.env, LULL_LOG_LEVEL: 'debug', KUBECONFIG: kubeconfigFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    children.push(child);
    return child;
  };

  const stopChildren = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  };
  const interceptors = async () => {
    const pods = (await getJson(['get', 'pods', '-n', 'lull-system', '-l', 'app.kubernetes.io/name=lull-interceptor'])).items as any[];
    const ready = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') && !p.metadata.deletionTimestamp;
    return [...pods.filter(ready), ...pods.filter((p) => !ready(p))];
  };
  try {
    log('interceptor pods (deploy/base/interceptor)');
    await kubectl(['create', 'namespace', 'lull-system']).catch(() => undefined);
    await kubectl(['apply', '-k', resolve(REPO, 'deploy/base/interceptor')]);
    // LULL_INTERCEPTOR_LOG_LEVEL=debug shows each wake's steps in the interceptor logs (a rollout when it changes).
    if (process.env.LULL_INTERCEPTOR_LOG_LEVEL) await kubectl(['set', 'env', 'deploy/lull-interceptor', '-n', 'lull-system', `LULL_LOG_LEVEL=${process.env.LULL_INTERCEPTOR_LOG_LEVEL}`]);
    // Pods run this checkout's code: restart them when it changed after they started.
    const started = ((await getJson(['get', 'pods', '-n', 'lull-system', '-l', 'app.kubernetes.io/name=lull-interceptor'])).items as any[]).map((p) => Date.parse(p.status?.startTime ?? '0'));
    if (started.length === 0 || Math.min(...started) < newestSource()) {
      log('  restarting them: the code changed since they started');
      await kubectl(['rollout', 'restart', 'deploy/lull-interceptor', '-n', 'lull-system']);
    }

    log('webhook (host process, registered by URL)');
    const webhookPort = await freePort(GATEWAY);
    await kubectl(['delete', 'secret', `${name}-tls`, `${name}-ca`, '-n', 'lull-system', '--ignore-not-found']);
    for (const config of webhookConfigurations(name, `https://${GATEWAY}:${webhookPort}`, scopeLabel)) await apply(config);
    const webhook = await spawnPart(
      'webhook',
      [
        ...['--host', GATEWAY, '--port', String(webhookPort), '--service', '', '--ip-address', GATEWAY],
        ...['--namespace', 'lull-system', '--secret', `${name}-tls`, '--mutating-config', name, '--validating-config', name, '--shutdown-delay', '0s'],
      ],
      kubeconfig,
    );
    await until('the webhook to write its caBundle', async () => {
      if (webhook.exitCode !== null) throw new Error(`lull webhook exited (${webhook.exitCode}); see ${logDir}/webhook.log`);
      const config = await getJson(['get', 'mutatingwebhookconfiguration', name]);
      return config.webhooks?.[0]?.clientConfig?.caBundle !== undefined;
    }, 30_000, 100);

    log('reconciler (host process, as the lull-reconciler service account)');
    await kubectl(['create', 'serviceaccount', 'lull-reconciler', '-n', 'lull-system']).catch(() => undefined);
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${name}-reconciler` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'lull-reconciler', namespace: 'lull-system' }],
    });
    const token = (await kubectl(['create', 'token', 'lull-reconciler', '-n', 'lull-system', '--duration=24h'])).trim();
    const reconcilerKubeconfig = resolve(logDir, 'reconciler.kubeconfig');
    writeFileSync(reconcilerKubeconfig, serviceAccountKubeconfig(kubeconfig, token), { mode: 0o600 });
    const reconcilerPort = await freePort('127.0.0.1');
    const reconciler = await spawnPart(
      'reconciler',
      ['--host', '127.0.0.1', '--port', String(reconcilerPort), '--lease-name', name, '--namespace-selector', `${scopeLabel}=true`, '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'],
      reconcilerKubeconfig,
    );
    await until('the reconciler to lead', async () => {
      if (reconciler.exitCode !== null) throw new Error(`lull reconciler exited (${reconciler.exitCode}); see ${logDir}/reconciler.log`);
      const r = await httpGet(`http://127.0.0.1:${reconcilerPort}/readyz`);
      return r.status === 200;
    }, 60_000, 100);

    await kubectl(['rollout', 'status', 'deploy/lull-interceptor', '-n', 'lull-system', '--timeout=120s']);
    log('stack ready');
  } catch (err) {
    // A half-built stack leaves nothing running behind it.
    await stopChildren();
    throw err;
  }

  return {
    kubeconfig,
    scopeLabel,
    kubectl,
    getJson,
    apply,
    logDir,
    interceptors,
    async namespace(prefix) {
      const ns = `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
      await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [scopeLabel]: 'true' } } });
      await until(`the default ServiceAccount in ${ns}`, () => kubectl(['get', 'serviceaccount', 'default', '-n', ns]).then(() => true), 30_000, 100);
      return ns;
    },
    async stop() {
      await stopChildren();
      await kubectl(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', name, '--ignore-not-found']).catch(() => undefined);
      await kubectl(['delete', 'clusterrolebinding', `${name}-reconciler`, '--ignore-not-found']).catch(() => undefined);
      await kubectl(['delete', 'secret', `${name}-tls`, `${name}-ca`, '-n', 'lull-system', '--ignore-not-found']).catch(() => undefined);
    },
  };
}

export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

// --- the app mode ---