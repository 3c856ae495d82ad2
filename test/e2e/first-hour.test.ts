// A newcomer's first hour: a typo in an annotation is not silently ignored. kubectl prints the webhook's
// warning when the Deployment is applied, and `lull status` says why the app will not sleep.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { get } from 'node:https';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterLayout, REPO_ROOT } from '../cluster/layout.ts';
import { freePort, httpGet, until } from './support/stack.ts';
import { webhookConfigurations } from './support/webhook-registration.ts';

const skip = inject('clusterSkipReason');
const KUBECONFIG = inject('kubeconfig');
const KUBECTL = inject('kubectl');
const GATEWAY = clusterLayout().gateway;
const CONFIG = 'lull-e2e-first-hour';
const SECRET = 'lull-e2e-first-hour-tls';
const SCOPE_LABEL = 'e2e.lull.dev/first-hour';
const NS = `lull-e2e-first-hour-${Math.random().toString(36).slice(2, 8)}`;
const LOG = resolve(REPO_ROOT, '.lull', 'e2e-first-hour.log');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], input?: string): Promise<Result> {
  const child = spawn(command, args, { env: { ...process.env, KUBECONFIG } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdout, stderr };
}

const kubectl = (args: string[], input?: string) => run(KUBECTL, args, input);
const lull = (args: string[]) => run(process.execPath, [resolve(REPO_ROOT, 'bin/lull.ts'), ...args, '--kubeconfig', KUBECONFIG]);

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A Deployment with no pods (replicas 0): only what admission and `lull status` read matters here. */
function deployment(name: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, annotations },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
  };
}

const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
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

let webhook: ChildProcess | undefined;

describe.skipIf(skip !== null)('the first hour: a typo is warned about, and lull status says why', () => {
  beforeAll(async () => {
    const port = await freePort(GATEWAY);
    await ok(['create', 'namespace', 'lull-system']).catch(() => undefined);
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { [SCOPE_LABEL]: 'true' } } }));
    await ok(['delete', 'secret', SECRET, '-n', 'lull-system', '--ignore-not-found']);
    await ok(['apply', '-f', '-'], list(...webhookConfigurations(CONFIG, `https://${GATEWAY}:${port}`, SCOPE_LABEL)));
    mkdirSync(resolve(LOG, '..'), { recursive: true });
    const log = createWriteStream(LOG, { flags: 'a' });
    webhook = spawn(
      process.execPath,
      [
        resolve(REPO_ROOT, 'bin/lull.ts'),
        'webhook',
        ...['--host', GATEWAY, '--port', String(port), '--service', '', '--ip-address', GATEWAY],
        ...['--namespace', 'lull-system', '--secret', SECRET, '--mutating-config', CONFIG, '--validating-config', CONFIG, '--shutdown-delay', '0s', '--kubeconfig', KUBECONFIG],
      ],
      { env: { ...process.env, LULL_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    webhook.stdout!.pipe(log);
    webhook.stderr!.pipe(log);
    await until('the webhook to write its caBundle', async () => {
      if (webhook?.exitCode !== null) throw new Error(`lull webhook exited (${webhook?.exitCode}); see ${LOG}`);
      return JSON.parse(await ok(['get', 'mutatingwebhookconfiguration', CONFIG, '-o', 'json'])).webhooks?.[0]?.clientConfig?.caBundle !== undefined;
    }, 30_000, 100);
    // Warnings about Services need its Service cache: wait for it rather than for a fixed time.
    await until('the webhook to know the Services', async () => /lull_webhook_informer_synced\{resource="services"\} 1/.test(await webhookMetrics(port)), 30_000, 100);
  });

  afterAll(async () => {
    if (webhook && webhook.exitCode === null) {
      webhook.kill('SIGTERM');
      await once(webhook, 'exit');
    }
    await ok(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', CONFIG, '--ignore-not-found']).catch(() => undefined);
    await ok(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await ok(['delete', 'secret', SECRET, '-n', 'lull-system', '--ignore-not-found']).catch(() => undefined);
  });

  it('kubectl apply prints a warning naming the key the typo meant; lull status lists the app and why it will not sleep', async () => {
    // The example: both keys misspelt, so Lull does not manage it and would never say so.
    const applied = await kubectl(['apply', '-f', '-'], list(deployment('web', { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' }), service('web')));
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
    const applied = await kubectl(['apply', '-f', '-'], list(deployment('lonely', { 'lull.dev/enabled': 'true' })));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('Warning: lonely will not sleep: no Service selects it, so no request could wake it\n');

    const status = await lull(['status', '-n', NS, '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const lonely = JSON.parse(status.stdout).items.find((i: { name: string }) => i.name === 'lonely');
    expect(lonely.problems).toEqual([{ code: 'LULL_NO_SERVICE', effect: 'will not sleep', message: 'no Service selects it, so no request could wake it' }]);

    // Its Service arrives: the reason is gone.
    await ok(['apply', '-f', '-'], list(service('lonely')));
    const after = JSON.parse((await lull(['status', '-n', NS, '-o', 'json'])).stdout).items.find((i: { name: string }) => i.name === 'lonely');
    expect(after.problems).toBeUndefined();
  });

  it('a reconciler whose Lease namespace does not exist says why and how to fix it, once, in its log and its readiness', async () => {
    const port = await freePort('127.0.0.1');
    const leaseNamespace = `${NS}-lease`;
    const reconciler = spawn(
      process.execPath,
      [
        resolve(REPO_ROOT, 'bin/lull.ts'),
        'reconciler',
        ...['--kubeconfig', KUBECONFIG, '--host', '127.0.0.1', '--port', String(port), '--namespace', leaseNamespace, '--lease-name', 'lull-e2e-first-hour'],
        ...['--namespace-selector', `${SCOPE_LABEL}=true`, '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'],
      ],
      { env: { ...process.env, LULL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    reconciler.stdout!.on('data', (d) => (output += d));
    reconciler.stderr!.on('data', (d) => (output += d));
    try {
      const why = `cannot take the leader Lease ${leaseNamespace}/lull-e2e-first-hour: namespace ${leaseNamespace} does not exist; create it: kubectl create namespace ${leaseNamespace}`;
      // Several failed tries (the metric counts each), one line in the log.
      await until('three failed Lease tries', async () => {
        if (reconciler.exitCode !== null) throw new Error(`lull reconciler exited (${reconciler.exitCode}): ${output}`);
        const metrics = await httpGet(`http://127.0.0.1:${port}/metrics`);
        return Number(/lull_reconciler_lease_errors_total\{code="404"\} (\d+)/.exec(metrics.body)?.[1] ?? 0) >= 3;
      }, 60_000, 200);
      const ready = await httpGet(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).leaseProblem).toEqual({ message: why, lasting: true });
      expect(output.split('\n').filter((line) => line.includes(why))).toHaveLength(1);
    } finally {
      reconciler.kill('SIGTERM');
      await once(reconciler, 'exit');
    }
  });

  it('lull status on a namespace that does not exist says so and how to see those there are', async () => {
    const status = await lull(['status', '-n', `${NS}-missing`]);
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`lull status: namespace ${NS}-missing does not exist; kubectl get namespaces lists those there are\n`);
  });
});
