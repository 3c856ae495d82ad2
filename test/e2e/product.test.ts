// The product as a newcomer meets it, on the local cluster: deploy/ applies cleanly, every part runs
// as pods under its own ServiceAccount with RBAC that is enough (the loop works through them) and not
// more (can-i says no to the rest), and `lull status`, `lull wake` and `lull sleep` tell and do the
// right thing through a sleep and a wake. Lull is installed isolated (support/lull-from-deploy.ts), so
// other test runs on the same cluster are not disturbed.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { REPO } from './support/kubectl.ts';
import { installIsolated, type Installed } from './support/lull-from-deploy.ts';
import { lullCli } from './support/lull-on-host.ts';
import { createNamespace } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const ID = randomBytes(3).toString('hex');
const LULL_NS = `lull-e2e-product-${ID}`;
const APPS_NS = `lull-e2e-product-apps-${ID}`;
const SCOPE = { key: `e2e.lull.dev/product-${ID}`, value: 'true' };

const kubectl = clusterKubectl();
const lull = (...args: string[]) => lullCli(kubectl.kubeconfig)(...args);

interface StatusItem {
  name: string;
  state: string;
  replicas: number;
  readyReplicas: number;
  idleAfterMs: number;
  lastActivity?: string;
  asleepForMs?: number;
  lastWake?: { at: string; durationMs?: number };
}

async function status(name: string): Promise<StatusItem | undefined> {
  const r = await lull('status', '-n', APPS_NS, '-o', 'json');
  if (r.code !== 0) throw new Error(`lull status failed: ${r.stderr}`);
  return (JSON.parse(r.stdout).items as StatusItem[]).find((i) => i.name === name);
}

const stateIs = (name: string, state: string) => async () => {
  const item = await status(name);
  return item?.state === state ? item : undefined;
};

const app = (name: string, annotations: Record<string, string>) => fixtureApp(name, { namespace: APPS_NS, annotations, probed: true });
const service = (name: string) => appService(name, APPS_NS);

onCluster('the product on the local cluster', () => {
  let installed: Installed | undefined;
  let url = '';

  beforeAll(async () => {
    installed = await installIsolated(kubectl, { namespace: LULL_NS, suffix: `-e2e-${ID}`, selector: SCOPE }, resolve(REPO, '.lull', 'e2e-product', `lull-${ID}.yaml`));
    await createNamespace(kubectl, APPS_NS, { [SCOPE.key]: SCOPE.value });
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', APPS_NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await installed?.uninstall();
  });

  it('deploy/ applies cleanly as it is (server-side dry run)', async () => {
    // A server-side dry run creates nothing, so the objects in lull-system are refused while that
    // namespace does not exist, even beside its Namespace in the same apply (a real apply creates it
    // first). So the Namespace is dry-run alone, then really created (if missing) for the rest, and removed after.
    const namespace = await kubectl(['apply', '--dry-run=server', '-f', resolve(REPO, 'deploy/base/webhook/namespace.yaml')]);
    expect(namespace).toContain('namespace/lull-system');
    const created = (await kubectl.run(['create', 'namespace', 'lull-system'])).code === 0;
    let out: string;
    try {
      out = await kubectl(['apply', '--dry-run=server', '-k', resolve(REPO, 'deploy')]);
    } finally {
      if (created) await kubectl(['delete', 'namespace', 'lull-system', '--timeout=180s']);
    }
    for (const kind of ['namespace/lull-system', 'deployment.apps/lull-webhook', 'deployment.apps/lull-reconciler', 'deployment.apps/lull-interceptor', 'configmap/lull-defaults', 'mutatingwebhookconfiguration.admissionregistration.k8s.io/lull-webhook']) {
      expect(out).toContain(kind);
    }
  });

  it('runs every part as ready pods under its own ServiceAccount', async () => {
    const ready = (pod: any) => pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
    const pods = await waitFor('every part ready', async () => {
      const all = ((await kubectl.json(['get', 'pods', '-n', LULL_NS])).items as any[]).filter((p) => !p.metadata.deletionTimestamp);
      return all.length >= 6 && all.every(ready) ? all : undefined;
    }, 120_000, 500);
    const byPart = new Map<string, string[]>();
    for (const pod of pods) byPart.set(pod.spec.serviceAccountName, [...(byPart.get(pod.spec.serviceAccountName) ?? []), pod.metadata.name]);
    expect([...byPart.keys()].sort()).toEqual(['lull-interceptor', 'lull-reconciler', 'lull-webhook']);
    expect(byPart.get('lull-webhook')).toHaveLength(2);
    expect(byPart.get('lull-reconciler')).toHaveLength(2);
    expect(byPart.get('lull-interceptor')!.length).toBeGreaterThanOrEqual(2);
  });

  it('gives each part no more than it needs', async () => {
    const canI = async (sa: string, ...args: string[]) => (await kubectl.run(['auth', 'can-i', ...args, `--as=system:serviceaccount:${LULL_NS}:${sa}`])).stdout.trim();
    // What each needs (the loop below proves it is enough) ...
    expect(await canI('lull-webhook', 'list', 'deployments', '-A')).toBe('yes');
    expect(await canI('lull-reconciler', 'patch', 'deployments', '-n', APPS_NS)).toBe('yes');
    expect(await canI('lull-reconciler', 'create', 'endpointslices', '-n', APPS_NS)).toBe('yes');
    expect(await canI('lull-interceptor', 'patch', 'deployments/scale', '-n', APPS_NS)).toBe('yes');
    // ... and what none of them may do.
    for (const sa of ['lull-webhook', 'lull-reconciler', 'lull-interceptor']) {
      expect(await canI(sa, 'get', 'secrets', '-n', APPS_NS)).toBe('no');
      expect(await canI(sa, 'create', 'pods', '-n', APPS_NS)).toBe('no');
      expect(await canI(sa, 'delete', 'deployments', '-n', APPS_NS)).toBe('no');
      expect(await canI(sa, 'create', 'clusterrolebindings')).toBe('no');
    }
    expect(await canI('lull-webhook', 'patch', 'deployments', '-n', APPS_NS)).toBe('no');
    expect(await canI('lull-interceptor', 'delete', 'endpointslices', '-n', APPS_NS)).toBe('no');
    expect(await canI('lull-interceptor', 'update', 'deployments', '-n', APPS_NS)).toBe('no');
  });

  it('puts an idle app to sleep and wakes it on a request, through the pods, as lull status shows', async () => {
    await kubectl.apply(app('web', { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '3s' }), service('web'));
    const awake = await waitFor('web onboarded, awake and ready', async () => {
      const item = await status('web');
      return item?.state === 'awake' && item.readyReplicas === 1 ? item : undefined;
    }, 120_000, 500);
    expect(awake.idleAfterMs).toBe(3000);
    const svc = await kubectl.json(['get', 'service', 'web', '-n', APPS_NS]);
    await waitFor('the Service routed through the sidecar', async () => (await kubectl.json(['get', 'service', 'web', '-n', APPS_NS])).spec.ports[0].targetPort === 'lull-8080', 60_000, 250);
    url = `http://${svc.spec.clusterIP}/`;
    const served = await waitFor('web to answer', () => get(url).then((r) => (r.status === 200 ? r : undefined)), 30_000, 200);
    expect(served.body).toContain('hello from web');

    // Idle: the reconciler asks the sidecar, routes the Service to the interceptor, scales to zero.
    const asleep = await waitFor('web asleep', stateIs('web', 'sleeping'), 90_000, 500);
    expect(asleep.replicas).toBe(0);
    expect(asleep.asleepForMs).toBeGreaterThanOrEqual(0);
    // Its Service now leads to the interceptor pods (the slice follows their readiness).
    await waitFor('the interceptor slice with endpoints', async () => {
      const slices = (await kubectl.json(['get', 'endpointslices', '-n', APPS_NS, '-l', 'endpointslice.kubernetes.io/managed-by=reconciler.lull.dev,kubernetes.io/service-name=web'])).items;
      return slices.some((s: any) => s.endpoints?.length > 0);
    }, 60_000, 250);
    await waitFor('the old pod gone', async () => (await kubectl.json(['get', 'pods', '-n', APPS_NS, '-l', 'app=web'])).items.length === 0, 90_000, 250);

    // A request to the sleeping app is held by an interceptor pod, which wakes it, then answered.
    const woken = await get(url, 120_000);
    expect(woken.status).toBe(200);
    expect(woken.body).toContain('hello from web');
    const back = await waitFor('web awake again with its last wake', async () => {
      const item = await status('web');
      return item?.state === 'awake' && item.lastWake?.durationMs !== undefined ? item : undefined;
    }, 60_000, 500);
    expect(back.lastWake!.durationMs).toBeGreaterThan(0);
    const table = await lull('status', '-n', APPS_NS);
    expect(table.stdout).toMatch(/^NAME\s+STATE\s+REPLICAS\s+IDLE-AFTER\s+LAST-ACTIVITY\s+ASLEEP-FOR\s+LAST-WAKE/);
    expect(table.stdout).toMatch(/\nweb\s+awake\s+\d\/1\s+3s\s/);
  });

  it('sleeps and wakes an app on command, and says clearly when it cannot', async () => {
    await kubectl.apply(app('manual', { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1h' }), service('manual'), app('plain', {}));
    await waitFor('manual onboarded and awake', async () => (await status('manual'))?.readyReplicas === 1 && (await status('manual'))?.state === 'awake', 120_000, 500);
    await waitFor('manual routed through its sidecar', async () => (await kubectl.json(['get', 'service', 'manual', '-n', APPS_NS])).spec.ports[0].targetPort === 'lull-8080', 60_000, 250);

    const slept = await lull('sleep', 'deploy/manual', '-n', APPS_NS, '--timeout', '90s');
    expect(slept.stderr).toBe('');
    expect(slept.code).toBe(0);
    expect(slept.stdout).toMatch(/deploy\/manual is asleep after .* \(scaled from 1 to 0\)/);
    const asleep = await status('manual');
    expect(asleep?.state).toBe('sleeping');
    // Its own idle-after is back.
    expect(asleep?.idleAfterMs).toBe(3_600_000);
    expect((await lull('sleep', 'deploy/manual', '-n', APPS_NS)).stdout).toContain('already asleep');

    const woke = await lull('wake', 'deploy/manual', '-n', APPS_NS);
    expect(woke.stderr).toBe('');
    expect(woke.code).toBe(0);
    expect(woke.stdout).toContain('deploy/manual scaled from 0 to 1');
    expect(woke.stdout).toMatch(/deploy\/manual is awake after .* \(1\/1 ready\)/);
    expect((await status('manual'))?.state).toBe('awake');
    expect((await lull('wake', 'deploy/manual', '-n', APPS_NS)).stdout).toContain('already awake');

    const missing = await lull('wake', 'deploy/nowhere', '-n', APPS_NS);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lull wake: deployment nowhere not found in namespace ${APPS_NS}\n`);
    const plain = await lull('sleep', 'deploy/plain', '-n', APPS_NS);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`deployment plain in namespace ${APPS_NS} is not managed by Lull (it has no lull.dev/enabled annotation`);
    expect(plain.stderr).toContain(`kubectl annotate -n ${APPS_NS} deploy/plain lull.dev/enabled=true`);
    const usage = await lull('wake', 'manual', '-n', APPS_NS);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: lull wake deploy/NAME');
  });
});
