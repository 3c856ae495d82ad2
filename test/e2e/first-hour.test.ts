// A newcomer's first hour: a typo in an annotation is not silently ignored. kubectl prints the webhook's
// warning when the Deployment is applied, and `lull status` says why the app will not sleep.
import { get } from 'node:https';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../cluster/layout.ts';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get as httpGet } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { freePort, GATEWAY, lullCli, spawnLull, startHostWebhook, stopProcess, type HostWebhook } from './support/lull-on-host.ts';
import { createNamespace, uniqueName } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const kubectl = clusterKubectl();
const NAME = 'lull-e2e-first-hour';
const SCOPE_LABEL = 'e2e.lull.dev/first-hour';
const NS = uniqueName(NAME);
const LOG = resolve(REPO_ROOT, '.lull', 'e2e-first-hour.log');
const lull = (args: string[]) => lullCli(kubectl.kubeconfig)(...args);

/** A Deployment with no pods (replicas 0): only what admission and `lull status` read matters here. */
function deployment(name: string, annotations: Record<string, string>) {
  return fixtureApp(name, { namespace: NS, annotations, replicas: 0, image: 'registry.k8s.io/pause:3.10', command: [] });
}

const service = (name: string) => appService(name, NS);
const list = (...items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/** The webhook's own metrics (its certificate is its own CA's: not checked here, only read). */
function webhookMetrics(port: number): Promise<string> {
  return new Promise((done, fail) => {
    get({ host: GATEWAY, port, path: '/metrics', rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => done(body));
    }).on('error', fail);
  });
}

let webhook: HostWebhook | undefined;

onCluster('the first hour: a typo is warned about, and lull status says why', () => {
  beforeAll(async () => {
    await createNamespace(kubectl, NS, { [SCOPE_LABEL]: 'true' });
    webhook = await startHostWebhook({ kubectl, name: NAME, scopeLabel: SCOPE_LABEL, logFile: LOG });
    // Warnings about Services need its Service cache: wait for it rather than for a fixed time.
    await waitFor('the webhook to know the Services', async () => /lull_webhook_informer_synced\{resource="services"\} 1/.test(await webhookMetrics(webhook!.port)), 30_000, 100);
  });

  afterAll(async () => {
    await webhook?.remove();
    await kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
  });

  it('kubectl apply prints a warning naming the key the typo meant; lull status lists the app and why it will not sleep', async () => {
    // The example: both keys misspelt, so Lull does not manage it and would never say so.
    const applied = await kubectl.run(['apply', '-f', '-'], list(deployment('web', { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' }), service('web')));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('Warning: lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?\n');
    expect(applied.stderr).toContain('Warning: lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?\n');
    expect(applied.stdout).toContain('deployment.apps/web created');

    const status = await lull(['status', '-n', NS]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^web\s+unmanaged\s+0\/0\s/m);
    expect(status.stdout).toContain('web: will not sleep: lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?\n');
    expect(status.stdout).toContain('web: lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?\n');
  });

  it('an opted-in app that no Service selects is warned about when applied and shown so by lull status', async () => {
    const applied = await kubectl.run(['apply', '-f', '-'], list(deployment('lonely', { 'lull.dev/enabled': 'true' })));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('Warning: lonely will not sleep: no Service selects it, so no request could wake it\n');

    const status = await lull(['status', '-n', NS, '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const lonely = JSON.parse(status.stdout).items.find((i: { name: string }) => i.name === 'lonely');
    expect(lonely.problems).toEqual([{ code: 'LULL_NO_SERVICE', effect: 'will not sleep', message: 'no Service selects it, so no request could wake it' }]);

    // Its Service arrives: the reason is gone.
    await kubectl.apply(service('lonely'));
    const after = JSON.parse((await lull(['status', '-n', NS, '-o', 'json'])).stdout).items.find((i: { name: string }) => i.name === 'lonely');
    expect(after.problems).toBeUndefined();
  });

  it('a reconciler whose Lease namespace does not exist says why and how to fix it, once, in its log and its readiness', async () => {
    const port = await freePort('127.0.0.1');
    const leaseNamespace = `${NS}-lease`;
    const reconciler = spawnLull(
      [
        'reconciler',
        ...['--kubeconfig', kubectl.kubeconfig, '--host', '127.0.0.1', '--port', String(port), '--namespace', leaseNamespace, '--lease-name', 'lull-e2e-first-hour'],
        ...['--namespace-selector', `${SCOPE_LABEL}=true`, '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'],
      ],
      { logLevel: 'info' },
    );
    let output = '';
    reconciler.stdout!.on('data', (d) => (output += d));
    reconciler.stderr!.on('data', (d) => (output += d));
    try {
      const why = `cannot take the leader Lease ${leaseNamespace}/lull-e2e-first-hour: namespace ${leaseNamespace} does not exist; create it: kubectl create namespace ${leaseNamespace}`;
      // Several failed tries (the metric counts each), one line in the log.
      await waitFor('three failed Lease tries', async () => {
        if (reconciler.exitCode !== null) throw new Error(`lull reconciler exited (${reconciler.exitCode}): ${output}`);
        const metrics = await httpGet(`http://127.0.0.1:${port}/metrics`);
        return Number(/lull_reconciler_lease_errors_total\{code="404"\} (\d+)/.exec(metrics.body)?.[1] ?? 0) >= 3;
      }, 60_000, 200);
      const ready = await httpGet(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).leaseProblem).toEqual({ message: why, lasting: true });
      expect(output.split('\n').filter((line) => line.includes(why))).toHaveLength(1);
    } finally {
      await stopProcess(reconciler);
    }
  });

  it('lull status on a namespace that does not exist says so and how to see those there are', async () => {
    const status = await lull(['status', '-n', `${NS}-missing`]);
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`lull status: namespace ${NS}-missing does not exist; kubectl get namespaces lists those there are\n`);
  });
});
