// Local cluster timings, medians over rounds:
//   1. `lull cluster up` with cached binaries (and PKI after the first round), and `down`;
//   2. from creating a one-replica Deployment and its Service to a ready endpoint in the Service's
//      EndpointSlice, as a ratio against the baseline measured in the same run: the same app started
//      as a bare host process until it answers. The ratio is what the cluster path costs over that.
// It starts and stops its own cluster, so it refuses to run while one is up (unless --reuse, which
// skips part 1 and leaves the running cluster alone).
//   node bench/cluster.ts [--rounds 3] [--deployments 5] [--reuse]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1EndpointSlice } from '@kubernetes/client-node';
import { informer } from '../core/informer.ts';
import { kubeClient } from '../core/kube-client.ts';
import { waitFor } from '../core/wait-for.ts';
import { down, up } from '../test/cluster/cluster.ts';
import { clusterStatus, isHealthy } from '../test/cluster/status.ts';
import { clusterFiles, clusterLayout } from '../test/cluster/layout.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    deployments: { type: 'string', default: '5' },
    reuse: { type: 'boolean', default: false },
    'baseline-port': { type: 'string', default: '19480' },
  },
});
const ROUNDS = Number(args.rounds);
const DEPLOYMENTS = Number(args.deployments);
const BASELINE_PORT = Number(args['baseline-port']);
const APP_PORT = 8080;

// The app of both measurements: answers 200 once listening.
const serverSource = (port: number) => `require('node:http').createServer((q, s) => s.end('ok')).listen(${port});`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const row = (label: string, xs: number[], extra = '') => console.log(`${label.padEnd(44)} median ${secs(median(xs)).padStart(7)}   (${xs.map(secs).join(' ')})${extra}`);

function answers(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Baseline: spawn the app on the host and poll until it answers. */
async function bareProcessReady(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', serverSource(BASELINE_PORT)], { stdio: 'ignore' });
  try {
    while (!(await answers(BASELINE_PORT))) await sleep(5);
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

/** Times of each up, and of each down but the last: that cluster stays for the Deployment part. */
async function upDownRounds(): Promise<{ ups: number[]; downs: number[] }> {
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ups.push((await up({ progress: () => {} })).durationMs);
    if (i < ROUNDS - 1) downs.push((await down()).durationMs);
  }
  row('cluster up (cached binaries)', ups);
  return { ups, downs };
}

/** Creates Deployment+Service `name` and resolves with the time until the Service has a ready endpoint. */
async function deploymentToReadyEndpoint(kc: KubeConfig, namespace: string, name: string): Promise<number> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const slices = informer<V1EndpointSlice>({ client: kubeClient(kc), path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, labelSelector: `kubernetes.io/service-name=${name}` }).start();
  await slices.synced;
  const t0 = performance.now();
  const readyAt = waitFor(slices, (c) => (c.list().some((slice) => slice.endpoints?.some((e) => e.conditions?.ready === true)) ? performance.now() : undefined), 120_000, `${namespace}/${name} had no ready endpoint`);
  readyAt.catch(() => {}); // Awaited below, once the objects are created.
  try {
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: APP_PORT }] } },
    });
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'app',
                  image: 'node',
                  command: ['node', '-e', serverSource(APP_PORT)],
                  ports: [{ containerPort: APP_PORT }],
                  readinessProbe: { httpGet: { path: '/', port: APP_PORT }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    return (await readyAt) - t0;
  } finally {
    slices.stop();
  }
}

async function deploymentRounds(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterFiles(clusterLayout()).adminKubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `bench-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  try {
    for (let n = 0; n < 50; n++) {
      const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined);
      if (sa !== undefined) break;
      await sleep(100);
    }
    const cluster: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < DEPLOYMENTS; i++) {
      bare.push(await bareProcessReady());
      cluster.push(await deploymentToReadyEndpoint(kc, namespace, `app-${i}`));
    }
    row('bare process → answering (baseline)', bare);
    row('Deployment → ready endpoint', cluster, `   ratio ${(median(cluster) / median(bare)).toFixed(1)}x (readiness probe period 1s)`);
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const running = isHealthy(await clusterStatus());
  if (running && !args.reuse) {
    console.error('a local cluster is running; this benchmark starts and stops its own. Run `npm run cluster -- down` first, or pass --reuse to time Deployments only.');
    process.exitCode = 2;
    return;
  }
  console.log(`local cluster benchmark: ${ROUNDS} rounds of up/down, ${DEPLOYMENTS} Deployments`);
  let downs: number[] = [];
  try {
    if (args.reuse) {
      if (!running) await up({ progress: () => {} });
    } else downs = (await upDownRounds()).downs;

    const kubelet = (await clusterStatus()).find((s) => s.name === 'kubelet');
    if (kubelet?.state === 'ready') await deploymentRounds();
    else console.log(`Deployment → ready endpoint: skipped (kubelet ${kubelet?.state ?? 'unknown'}: ${kubelet?.detail ?? ''})`);
  } finally {
    // A cluster that was running before is someone's: it stays.
    if (!running) {
      downs.push((await down()).durationMs);
      if (!args.reuse) row('cluster down', downs);
    }
  }
}

await main();
