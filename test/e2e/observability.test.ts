// Observability as users wire it: a real Prometheus (Debian's package) scrapes the reconciler, the
// interceptor pods and the injected sidecars on the local cluster (found through the Kubernetes API the
// way the chart's ServiceMonitor and PodMonitor select them), an app
// sleeps and is woken by a request, and every query of the Grafana dashboard then returns data.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dashboardQueries, DASHBOARD_PATH } from '../support/dashboard.ts';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get } from './support/http.ts';
import { clusterKubectl, kube, onCluster } from './support/kube.ts';
import { freePort } from './support/lull-on-host.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

const APP = 'watched';
const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A pod target: its IP and the port with that name, in its containers or (native sidecars) init containers. */
function podTarget(pod: V1Pod, portName: string): { targets: string[]; labels: Record<string, string> } | undefined {
  if (pod.status?.phase !== 'Running' || !pod.status.podIP || pod.metadata?.deletionTimestamp) return undefined;
  const ports = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].flatMap((c) => c.ports ?? []);
  const port = ports.find((p) => p.name === portName);
  if (!port) return undefined;
  return { targets: [`${pod.status.podIP}:${port.containerPort}`], labels: { namespace: pod.metadata!.namespace!, pod: pod.metadata!.name! } };
}

/**
 * Prometheus' HTTP service discovery, answering what the chart's ServiceMonitor and PodMonitor select:
 * the interceptor pods' `admin` port and every pod with a `lull-admin` port. (Debian builds Prometheus
 * without Kubernetes discovery; with it, `role: pod` and a keep on the port name do the same.)
 */
async function startDiscovery(core: CoreV1Api): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const list = req.url === '/interceptors' ? core.listNamespacedPod({ namespace: 'lull-system', labelSelector: 'app.kubernetes.io/name=lull-interceptor' }) : core.listPodForAllNamespaces();
    list.then(
      (pods) => {
        const name = req.url === '/interceptors' ? 'admin' : 'lull-admin';
        const groups = pods.items.map((p) => podTarget(p, name)).filter((g) => g !== undefined);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(groups));
      },
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((done) => server.close(() => done())) };
}

function scrapeConfig(discovery: string, reconcilerUrl: string): unknown {
  return {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [
      { job_name: 'lull-reconciler', static_configs: [{ targets: [new URL(reconcilerUrl).host] }] },
      { job_name: 'lull-interceptor', http_sd_configs: [{ url: `${discovery}/interceptors`, refresh_interval: '1s' }] },
      { job_name: 'lull-sidecars', http_sd_configs: [{ url: `${discovery}/sidecars`, refresh_interval: '1s' }] },
    ],
  };
}

onCluster('Prometheus and the Grafana dashboard on the local cluster', () => {
  let stack: Stack;
  let ns: string;
  let prometheus: ChildProcess | undefined;
  let api = '';
  let discovery: { url: string; close(): Promise<void> } | undefined;

  const query = async (promql: string): Promise<Sample[]> => {
    const reply = await get(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = JSON.parse(reply.body);
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result as Sample[];
  };
  const value = async (promql: string) => {
    const result = await query(promql);
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  };
  const state = async () => (await stack.kubectl.json(['get', 'deploy', APP, '-n', ns])).metadata.annotations?.['lull.dev/state'];

  beforeAll(async () => {
    stack = await startStack({ scope: 'observability', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-obs');
    await stack.kubectl.apply(fixtureApp(APP, { namespace: ns, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '2s' } }), appService(APP, ns));

    const dir = mkdtempSync(join(tmpdir(), 'lull-prometheus-'));
    // JSON is YAML: Prometheus reads it as its config file.
    discovery = await startDiscovery(kube().core);
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(scrapeConfig(discovery.url, stack.reconcilerUrl)));
    const port = await freePort('127.0.0.1');
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(stack.logDir, 'prometheus.log'));
    prometheus.stdout!.pipe(log);
    prometheus.stderr!.pipe(log);
    await waitFor('Prometheus to be ready', async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited (${prometheus!.exitCode}); see ${stack.logDir}/prometheus.log`);
      return (await get(`${api}/-/ready`, 1000)).status === 200;
    }, 30_000, 200);
  }, 300_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await discovery?.close();
    if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack?.stop();
  });

  const targets = async () => JSON.parse((await get(`${api}/api/v1/targets?state=active`)).body).data.activeTargets as Array<{ labels: Record<string, string>; health: string }>;

  it('scrapes the reconciler and both interceptor pods', async () => {
    await waitFor('the reconciler and two interceptors up', async () => {
      const active = await targets();
      const up = (job: string) => active.filter((t) => t.labels.job === job && t.health === 'up').length;
      return up('lull-reconciler') === 1 && up('lull-interceptor') >= 2;
    }, 90_000, 500);
  });

  it('sees the app sleep, then a request wake it, and every dashboard query returns data', async () => {
    await waitFor(`${APP} to sleep`, async () => (await state()) === 'sleeping', 120_000, 200);
    // Asleep now: keep it awake once woken, so its sidecar stays scraped while the queries run.
    await stack.kubectl(['annotate', '--overwrite', 'deploy', APP, '-n', ns, 'lull.dev/idle-after=1h']);
    expect(await waitFor('the dashboard to count a sleeping app', async () => (await value('max(lull_reconciler_apps{state="sleeping"})')) === 1 || false, 30_000, 500)).toBe(true);

    const ip = (await stack.kubectl.json(['get', 'svc', APP, '-n', ns])).spec.clusterIP as string;
    const reply = await get(`http://${ip}/`, 120_000);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`hello from ${APP}\n`);
    await waitFor(`${APP} to be awake`, async () => (await state()) === 'awake', 60_000, 200);
    await waitFor('the woken pod\'s sidecar to be scraped', async () => (await targets()).some((t) => t.labels.job === 'lull-sidecars' && t.labels.namespace === ns && t.health === 'up'), 60_000, 500);
    // The waking request was counted before the new pod's first scrape, so rates start from 0: the app
    // serves a little traffic afterwards, as any woken app does, for the rates to have something to show.
    for (let i = 0; i < 5; i++) expect((await get(`http://${ip}/`)).status).toBe(200);

    const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8'));
    const queries = dashboardQueries(dashboard);
    const empty = new Set(queries.map((q) => q.promql));
    // Each query must give at least one finite value (a histogram_quantile of nothing is NaN, not data).
    await waitFor('every dashboard query to return data', async () => {
      for (const promql of [...empty]) {
        const result = await query(promql);
        if (result.some((s) => Number.isFinite(Number(s.value[1])))) empty.delete(promql);
      }
      return empty.size === 0;
    }, 90_000, 1000).catch((err: Error) => {
      throw new Error(`${err.message}; still empty:\n  ${[...empty].join('\n  ')}`);
    });

    // And the numbers say what happened: one wake by a request, the app awake, a held connection forwarded.
    expect(await value('max(lull_reconciler_apps{state="awake"})')).toBe(1);
    expect(await value('max(lull_reconciler_apps{state="sleeping"})')).toBe(0);
    expect(await value('sum(increase(lull_reconciler_wakes_total{trigger="interceptor"}[5m]))')).toBeGreaterThan(0);
    expect(await value('sum(increase(lull_interceptor_wakes_total{result="scaled"}[5m]))')).toBeGreaterThan(0);
    expect(await value('sum(lull_interceptor_connections_total)')).toBeGreaterThanOrEqual(1);
    expect(await value(`sum(lull_sidecar_requests_total{namespace="${ns}",status_class="2xx"})`)).toBeGreaterThanOrEqual(1);
  });
});
