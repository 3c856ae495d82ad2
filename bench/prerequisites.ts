// A benchmark on the local cluster stops at once, with the command that fixes it, when the cluster is
// not there (instead of hanging on retries or printing only 404s).
import { LullError } from '../core/errors.ts';
import { kubeClient, loadKubeConfig, type KubeClient } from '../core/kube-client.ts';
import { requireCluster, requireKubeconfig } from '../core/prerequisites.ts';
import { clusterFiles, clusterLayout } from '../test/cluster/layout.ts';

/** KUBECONFIG, else the local cluster's. */
export const benchKubeconfig = (): string => process.env.KUBECONFIG || clusterFiles(clusterLayout()).adminKubeconfig;

/** A client on a cluster that answers, or exit 2 with one line saying why and what to run. */
export async function clusterOrExit(bench: string, kubeconfig = benchKubeconfig()): Promise<KubeClient> {
  try {
    requireKubeconfig(kubeconfig);
    const client = kubeClient(loadKubeConfig(kubeconfig));
    await requireCluster(client, kubeconfig);
    return client;
  } catch (err) {
    if (!(err instanceof LullError)) throw err;
    process.stderr.write(`${bench}: ${err.message}\n`);
    process.exit(2);
  }
}
