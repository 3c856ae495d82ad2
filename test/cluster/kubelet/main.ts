// The process kubelet: registers the node, runs the pods bound to it as host processes in network
// namespaces, and stops them all on SIGTERM. Started by test/cluster as `main.ts --config <file>`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { informer } from '../../../core/informer.ts';
import { kubeClient } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import { kubeletApi } from './api.ts';
import type { KubeletConfig } from './config.ts';
import { AddressPool, parseCIDR } from './ipam.ts';
import { NodeHeartbeat } from './node.ts';
import { PodWorker } from './pod.ts';
import { removeMountPoints } from './volumes.ts';

const SHUTDOWN_GRACE_MS = 15_000;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  if (!values.config) {
    process.stderr.write('usage: kubelet --config <file>\n');
    return 2;
  }
  const config = JSON.parse(readFileSync(values.config, 'utf8')) as KubeletConfig;
  const log = createLogger('kubelet');
  const kc = new KubeConfig();
  kc.loadFromFile(config.kubeconfig);
  const api = kubeletApi(kc, config.nodeName);
  const heartbeat = new NodeHeartbeat(config, api.core, api.coordination);
  await heartbeat.register();
  log.info({ node: config.nodeName }, 'node registered');

  const pool = new AddressPool(config.podCIDR, [config.gateway]);
  const createdMountPoints = new Set<string>();
  const workers = new Map<string, PodWorker>();
  const deps = {
    config, api, pool, log, createdMountPoints,
    userAgent: `kube-probe/${config.kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.')}`,
    prefixLength: parseCIDR(config.podCIDR).prefix,
  };

  const seen = (pod: V1Pod) => {
    const uid = pod.metadata!.uid!;
    const phase = pod.status?.phase;
    let worker = workers.get(uid);
    if (worker === undefined) {
      // A pod that already ended (or that a former kubelet ran) is not started again; if deleted, let it go.
      if (phase === 'Succeeded' || phase === 'Failed') {
        if (pod.metadata?.deletionTimestamp) void api.deletePod(pod).catch(() => undefined);
        return;
      }
      worker = new PodWorker(pod, deps);
      workers.set(uid, worker);
      if (pod.metadata?.deletionTimestamp) {
        void worker.terminate().finally(() => workers.delete(uid));
        return;
      }
      void worker.run().catch((err) => log.error({ err, pod: pod.metadata?.name }, 'pod worker failed'));
      return;
    }
    worker.update(pod);
    if (pod.metadata?.deletionTimestamp) void worker.terminate().finally(() => workers.delete(uid));
  };

  // Resumes by itself after any error (say, the apiserver restarting).
  const pods = informer<V1Pod>({
    client: kubeClient(kc),
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${config.nodeName}`,
    logger: log,
    maxBackoffMs: 5000,
    onChange: (change, pod) => {
      if (change !== 'delete') return seen(pod);
      // Deleted without grace (force delete): nothing waits for us, stop at once.
      const worker = workers.get(pod.metadata!.uid!);
      if (worker) void worker.terminate(0).finally(() => workers.delete(pod.metadata!.uid!));
    },
  }).start();
  await pods.synced;
  log.info('watching pods');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.info({ pods: workers.size }, 'stopping all pods');
  heartbeat.stop();
  pods.stop();
  await Promise.all([...workers.values()].map((w) => w.terminate(SHUTDOWN_GRACE_MS)));
  await removeMountPoints(createdMountPoints);
  log.info('kubelet stopped');
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`kubelet: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
