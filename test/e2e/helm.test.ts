// Lull installed, upgraded and uninstalled by the real helm (the pinned build) as a platform team
// would: `helm install -n lull-system --create-namespace`, an app sleeps and wakes through it,
// `helm upgrade` with changed values rolls the parts and the loop still works, and `helm uninstall`
// wakes the sleeping app first (the pre-delete hook) and leaves nothing of Lull behind.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROUTE_SELECTOR } from '../../core/interceptor-contract.ts';
import { ensureHelm } from '../cluster/helm.ts';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { REPO, run } from './support/kubectl.ts';
import { createNamespace } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const ID = randomBytes(3).toString('hex');
const LULL_NS = 'lull-system';
const APPS_NS = `lull-e2e-helm-apps-${ID}`;
const CHART = resolve(REPO, 'deploy/helm/lull');
const scratch = mkdtempSync(join(tmpdir(), 'lull-helm-e2e-'));

const kubectl = clusterKubectl();
const json = (...args: string[]) => kubectl.json(args);

let helmPath = '';
async function helm(args: string[], values?: Record<string, unknown>): Promise<string> {
  const extra: string[] = [];
  if (values !== undefined) {
    const file = join(scratch, `values-${randomBytes(3).toString('hex')}.yaml`);
    // JSON is YAML that Helm's YAML 1.1 parser cannot misread (an unquoted yes is a boolean there).
    writeFileSync(file, JSON.stringify(values));
    extra.push('-f', file);
  }
  const r = await run(helmPath, [...args, ...extra, '--kubeconfig', kubectl.kubeconfig]);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const app = (name: string) => fixtureApp(name, { namespace: APPS_NS, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '3s' }, probed: true });
const service = (name: string) => appService(name, APPS_NS);

const state = async (name: string) => (await json('get', 'deployment', name, '-n', APPS_NS)).metadata.annotations?.['lull.dev/state'];
const interceptorSlices = async (namespace = APPS_NS) => (await json('get', 'endpointslices', '-n', namespace, '-l', 'endpointslice.kubernetes.io/managed-by=reconciler.lull.dev')).items as any[];
const routeRecords = async () => ((await json('get', 'configmaps', '-n', LULL_NS, '-l', ROUTE_SELECTOR)).items as any[]).map((c) => c.metadata.name);
const podsOf = async (part: string) => ((await json('get', 'pods', '-n', LULL_NS, '-l', `app.kubernetes.io/component=${part}`)).items as any[]).filter((p) => !p.metadata.deletionTimestamp);

async function sleepThenWake(url: string): Promise<void> {
  await waitFor('web asleep (scaled to zero behind the interceptor)', async () => (await state('web')) === 'sleeping' && (await json('get', 'deployment', 'web', '-n', APPS_NS)).spec.replicas === 0, 120_000, 500);
  await waitFor('the interceptor slice with endpoints', async () => (await interceptorSlices()).some((s) => s.endpoints?.length > 0), 60_000, 250);
  await waitFor('the old pod gone', async () => (await json('get', 'pods', '-n', APPS_NS, '-l', 'app=web')).items.length === 0, 90_000, 250);
  const woken = await get(url, 120_000);
  expect(woken.status).toBe(200);
  expect(woken.body).toContain('hello from web');
}

onCluster('Lull through the real helm', () => {
  let url = '';

  beforeAll(async () => {
    helmPath = await ensureHelm();
    // Earlier e2e files (the demo, the product test) install deploy/ in lull-system with kubectl: Helm
    // cannot adopt those objects, so what they left goes first, the cluster-wide webhooks included.
    await kubectl(['delete', '-k', resolve(REPO, 'deploy'), '--ignore-not-found', '--wait=true', '--timeout=180s']);
    await kubectl(['delete', 'namespace', LULL_NS, '--ignore-not-found', '--timeout=180s']);
    await createNamespace(kubectl, APPS_NS);
  }, 1_200_000);

  afterAll(async () => {
    await kubectl(['delete', 'namespace', APPS_NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    if (helmPath) await run(helmPath, ['uninstall', 'lull', '-n', LULL_NS, '--no-hooks', '--ignore-not-found', '--kubeconfig', kubectl.kubeconfig]);
    // Gone before the next file runs: other e2e files put parts of their own in lull-system.
    await kubectl(['delete', 'namespace', LULL_NS, '--ignore-not-found', '--timeout=180s']).catch(() => undefined);
  }, 300_000);

  it('installs with helm install -n lull-system --create-namespace, every part ready', async () => {
    const out = await helm(['install', 'lull', CHART, '-n', LULL_NS, '--create-namespace', '--wait', '--timeout', '5m']);
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain(`Lull 0.1.0 is installed in ${LULL_NS}`);
    for (const part of ['webhook', 'reconciler', 'interceptor']) {
      const d = await json('get', 'deployment', `lull-${part}`, '-n', LULL_NS);
      expect(d.status.readyReplicas).toBe(2);
      expect(d.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'lull', 'app.kubernetes.io/managed-by': 'Helm' });
    }
  }, 420_000);

  it('puts an opted-in app to sleep and wakes it on a request', async () => {
    await kubectl.apply(app('web'), service('web'));
    await waitFor('the Service routed through the sidecar', async () => (await json('get', 'service', 'web', '-n', APPS_NS)).spec.ports[0].targetPort === 'lull-8080', 120_000, 250);
    url = `http://${(await json('get', 'service', 'web', '-n', APPS_NS)).spec.clusterIP}/`;
    await waitFor('web to answer', () => get(url).then((r) => (r.status === 200 ? r : undefined)), 60_000, 200);
    await sleepThenWake(url);
  }, 420_000);

  it('helm upgrade with changed values rolls the parts, and the loop still works', async () => {
    const before = (await podsOf('reconciler')).map((p) => p.metadata.name);
    const checksum = (await json('get', 'deployment', 'lull-reconciler', '-n', LULL_NS)).spec.template.metadata.annotations['checksum/defaults'];
    await helm(['upgrade', 'lull', CHART, '-n', LULL_NS, '--wait', '--timeout', '5m'], { defaults: { idleAfter: '20m' }, podAnnotations: { 'example.com/upgraded': 'yes' } });
    const reconciler = await json('get', 'deployment', 'lull-reconciler', '-n', LULL_NS);
    expect(reconciler.spec.template.metadata.annotations['checksum/defaults']).not.toBe(checksum);
    expect((await json('get', 'configmap', 'lull-defaults', '-n', LULL_NS)).data['idle-after']).toBe('20m');
    const after = await waitFor('the reconciler pods replaced and ready', async () => {
      const pods = await podsOf('reconciler');
      const ready = pods.filter((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 2 && ready.every((p) => !before.includes(p.metadata.name)) ? ready : undefined;
    }, 180_000, 500);
    for (const p of after) expect(p.metadata.annotations['example.com/upgraded']).toBe('yes');
    // The app's own idle-after (3s) still wins over the new default.
    await sleepThenWake(url);
  }, 420_000);

  it('helm uninstall wakes the sleeping app first and leaves nothing of Lull behind', async () => {
    await waitFor('web asleep again before the uninstall', async () => (await state('web')) === 'sleeping' && (await json('get', 'deployment', 'web', '-n', APPS_NS)).spec.replicas === 0, 120_000, 500);
    // The reconciler's route records (one ConfigMap per interceptor port) are made at run time, not by the chart.
    expect(await routeRecords()).not.toEqual([]);
    await helm(['uninstall', 'lull', '-n', LULL_NS, '--wait', '--timeout', '5m']);

    const web = await json('get', 'deployment', 'web', '-n', APPS_NS);
    expect(web.spec.replicas).toBe(1);
    expect(Object.keys(web.metadata.annotations ?? {}).filter((k) => ['lull.dev/state', 'lull.dev/replicas-before-sleep', 'lull.dev/slept-at', 'lull.dev/touched-at'].includes(k))).toEqual([]);
    expect(await interceptorSlices()).toEqual([]);
    expect(await routeRecords()).toEqual([]);
    const webService = (await json('get', 'service', 'web', '-n', APPS_NS)).metadata.annotations ?? {};
    expect(webService['lull.dev/interceptor-ports']).toBeUndefined();
    expect(webService['lull.dev/touched-at']).toBeUndefined();
    // The Service reaches the app's own pods, with no interceptor left.
    const served = await waitFor('web to answer without Lull', () => get(url).then((r) => (r.status === 200 ? r : undefined)), 60_000, 200);
    expect(served.body).toContain('hello from web');

    // The parts' pods go after their Deployments, as the garbage collector gets to them.
    await waitFor('no object of Lull left in its namespace', async () => (await kubectl(['get', 'all,configmaps,secrets,serviceaccounts,roles,rolebindings,jobs,poddisruptionbudgets', '-n', LULL_NS, '-l', 'app.kubernetes.io/part-of=lull', '-o', 'name'])).trim() === '', 120_000, 500);
    const clusterWide = await kubectl(['get', 'clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations', '-l', 'app.kubernetes.io/part-of=lull', '-o', 'name']);
    expect(clusterWide.trim()).toBe('');
    // What the parts made at run time goes too: the webhook's Secrets, the reconciler's Lease.
    expect(await kubectl(['get', 'secrets,leases', '-n', LULL_NS, '-o', 'name'])).not.toMatch(/lull-/);
    expect(await kubectl(['get', 'mutatingwebhookconfigurations,validatingwebhookconfigurations', '-o', 'name'])).not.toContain('lull-webhook');
    expect((await run(helmPath, ['status', 'lull', '-n', LULL_NS, '--kubeconfig', kubectl.kubeconfig])).code).not.toBe(0);
  }, 420_000);
});
