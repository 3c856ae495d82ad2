// The kubeconfig the way kubectl finds it: --kubeconfig, else every file of $KUBECONFIG merged (the
// first to name a cluster, user, context or current-context wins), else ~/.kube/config, else in-cluster.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import { kubeClient, type KubeClient } from '../core/kube-client.ts';
import { requireCluster, requireKubeconfig } from '../core/prerequisites.ts';

export interface KubeconfigFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** Pure: kubectl's merge rule over already-loaded files. */
export function mergeKubeconfigs(configs: readonly KubeConfig[]): KubeConfig {
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const list of lists) for (const item of list) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: firstByName(configs.map((c) => c.clusters)),
    users: firstByName(configs.map((c) => c.users)),
    contexts: firstByName(configs.map((c) => c.contexts)),
    currentContext: configs.map((c) => c.currentContext).find((name) => name) ?? '',
  });
  return merged;
}

/** Which files kubectl would read, in order; undefined means in-cluster. */
export function kubeconfigFiles(flags: KubeconfigFlags, env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] | undefined {
  if (flags.kubeconfig) return [flags.kubeconfig];
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
  const file = join(home, '.kube', 'config');
  if (existsSync(file) || !env.KUBERNETES_SERVICE_HOST) return [file];
  return undefined;
}

export function loadCliKubeconfig(flags: KubeconfigFlags, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const files = kubeconfigFiles(flags, env);
  let kc: KubeConfig;
  if (files === undefined) {
    kc = new KubeConfig();
    kc.loadFromCluster();
  } else {
    // kubectl skips missing files of $KUBECONFIG, but not an explicit --kubeconfig.
    const present = flags.kubeconfig ? files : files.filter((f) => existsSync(f));
    if (present.length === 0) {
      throw lullError(errors.kubeconfig, `no kubeconfig found (looked at ${files.join(', ')}); set KUBECONFIG or pass --kubeconfig`);
    }
    const loaded = present.map((file) => {
      const one = new KubeConfig();
      try {
        one.loadFromFile(file);
      } catch (err) {
        throw lullError(errors.kubeconfig, `${file}: ${(err as Error).message}`);
      }
      return one;
    });
    kc = mergeKubeconfigs(loaded);
  }
  if (flags.context) {
    if (kc.getContextObject(flags.context) === null) throw lullError(errors.kubeconfig, `context ${JSON.stringify(flags.context)} does not exist`);
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()) throw lullError(errors.kubeconfig, 'no current context names a cluster; pass --context');
  return kc;
}

/** kubectl's default namespace: the current context's, else "default". */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

/** The kubeconfig, a client on it, and a cluster that answers: else one line naming the server and the fix. */
export async function connect(flags: KubeconfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<{ kc: KubeConfig; client: KubeClient }> {
  if (flags.kubeconfig) requireKubeconfig(flags.kubeconfig);
  const kc = loadCliKubeconfig(flags, env);
  const client = kubeClient(kc);
  await requireCluster(client, kubeconfigFiles(flags, env)?.join(':') ?? 'the in-cluster service account');
  return { kc, client };
}
