// Lull's parts on the local cluster for e2e tests and benchmarks: interceptor pods from deploy/base,
// webhook and reconciler as host processes (lull-on-host.ts) scoped to labelled namespaces.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { get } from './http.ts';
import { writeServiceAccountKubeconfig } from './kubeconfigs.ts';
import { kubectlOf, pinnedKubectl, REPO, type Kubectl } from './kubectl.ts';
import { freePort, spawnLull, startHostWebhook, stopProcess, type HostWebhook } from './lull-on-host.ts';
import { createNamespace, uniqueName } from './namespaces.ts';
import { waitFor } from './wait.ts';

export interface StackOptions {
  /** Names the webhook configuration, reconciler Lease and namespace label, so runs do not meet. */
  scope: string;
  /** Default: the pinned kubectl on KUBECONFIG or the local cluster's kubeconfig. */
  kubectl?: Kubectl;
  log?: (line: string) => void;
}

export interface Stack {
  kubectl: Kubectl;
  /** Label that puts a namespace under this stack's webhook and reconciler. */
  scopeLabel: string;
  /** A fresh namespace under this stack. */
  namespace(prefix: string): Promise<string>;
  /** The interceptor pods, ready ones first. */
  interceptors(): Promise<any[]>;
  /** The reconciler's admin server on the host (/metrics, /readyz). */
  reconcilerUrl: string;
  logDir: string;
  stop(): Promise<void>;
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

const isReady = (pod: any) => pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') && !pod.metadata.deletionTimestamp;

export async function startStack(options: StackOptions): Promise<Stack> {
  const kubectl = options.kubectl ?? kubectlOf(await pinnedKubectl(), process.env.KUBECONFIG ?? resolve(REPO, '.lull/cluster/kubeconfig'));
  const log = options.log ?? (() => {});
  const name = `lull-e2e-${options.scope}`;
  const scopeLabel = `e2e.lull.dev/${options.scope}`;
  const logDir = resolve(REPO, '.lull', name);
  let webhook: HostWebhook | undefined;
  let reconciler: ChildProcess | undefined;
  const reconcilerPort = await freePort('127.0.0.1');
  const stopProcesses = async () => {
    await stopProcess(reconciler);
    await webhook?.stop();
  };

  try {
    log('interceptor pods (deploy/base/interceptor)');
    await kubectl(['create', 'namespace', 'lull-system']).catch(() => undefined);
    await kubectl(['apply', '-k', resolve(REPO, 'deploy/base/interceptor')]);
    // LULL_INTERCEPTOR_LOG_LEVEL=debug shows each wake's steps in the interceptor logs (a rollout when it changes).
    if (process.env.LULL_INTERCEPTOR_LOG_LEVEL) await kubectl(['set', 'env', 'deploy/lull-interceptor', '-n', 'lull-system', `LULL_LOG_LEVEL=${process.env.LULL_INTERCEPTOR_LOG_LEVEL}`]);
    // Pods run this checkout's code: restart them when it changed after they started.
    const started = ((await kubectl.json(['get', 'pods', '-n', 'lull-system', '-l', 'app.kubernetes.io/name=lull-interceptor'])).items as any[]).map((p) => Date.parse(p.status?.startTime ?? '0'));
    if (started.length === 0 || Math.min(...started) < newestSource()) {
      log('  restarting them: the code changed since they started');
      await kubectl(['rollout', 'restart', 'deploy/lull-interceptor', '-n', 'lull-system']);
    }

    log('webhook (host process, registered by URL)');
    webhook = await startHostWebhook({ kubectl, name, scopeLabel, logFile: resolve(logDir, 'webhook.log') });

    log('reconciler (host process, as the lull-reconciler service account)');
    await kubectl(['create', 'serviceaccount', 'lull-reconciler', '-n', 'lull-system']).catch(() => undefined);
    await kubectl.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${name}-reconciler` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'lull-reconciler', namespace: 'lull-system' }],
    });
    const reconcilerKubeconfig = await writeServiceAccountKubeconfig(kubectl, 'lull-system', 'lull-reconciler', resolve(logDir, 'reconciler.kubeconfig'));
    const child = spawnLull(
      [
        'reconciler',
        ...['--host', '127.0.0.1', '--port', String(reconcilerPort), '--lease-name', name, '--namespace-selector', `${scopeLabel}=true`],
        ...['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms', '--kubeconfig', reconcilerKubeconfig],
      ],
      { logFile: resolve(logDir, 'reconciler.log') },
    );
    reconciler = child;
    await waitFor('the reconciler to lead', async () => {
      if (child.exitCode !== null) throw new Error(`lull reconciler exited (${child.exitCode}); see ${logDir}/reconciler.log`);
      return (await get(`http://127.0.0.1:${reconcilerPort}/readyz`, 2000)).status === 200;
    }, 60_000, 100);

    await kubectl(['rollout', 'status', 'deploy/lull-interceptor', '-n', 'lull-system', '--timeout=120s']);
    log('stack ready');
  } catch (err) {
    // A half-built stack leaves nothing running behind it.
    await stopProcesses();
    throw err;
  }

  return {
    kubectl,
    scopeLabel,
    logDir,
    reconcilerUrl: `http://127.0.0.1:${reconcilerPort}`,
    async interceptors() {
      const pods = (await kubectl.json(['get', 'pods', '-n', 'lull-system', '-l', 'app.kubernetes.io/name=lull-interceptor'])).items as any[];
      return [...pods.filter(isReady), ...pods.filter((p) => !isReady(p))];
    },
    async namespace(prefix) {
      return createNamespace(kubectl, uniqueName(prefix), { [scopeLabel]: 'true' });
    },
    async stop() {
      await stopProcesses();
      await webhook?.remove();
      await kubectl(['delete', 'clusterrolebinding', `${name}-reconciler`, '--ignore-not-found']).catch(() => undefined);
    },
  };
}
