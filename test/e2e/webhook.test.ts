// The webhook against the real apiserver: registered by URL to a `lull webhook` process on the host,
// bound to the cluster bridge's gateway address, with short-lived certificates so that rotation
// happens while the other tests run.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterLayout, REPO_ROOT } from '../cluster/layout.ts';
import { webhookConfigurations } from './support/webhook-registration.ts';

const skip = inject('clusterSkipReason');
const KUBECONFIG = inject('kubeconfig');
const KUBECTL = inject('kubectl');
const GATEWAY = clusterLayout().gateway;
const CONFIG = 'lull-e2e-webhook';
const SECRET = 'lull-e2e-webhook-tls';
// The webhook keeps its CA apart, in the Secret named after SECRET with -ca.
const CA_SECRET = 'lull-e2e-webhook-ca';
const SCOPE_LABEL = 'e2e.lull.dev/webhook';
// A suffix per run: namespaces of an earlier run may still be terminating.
const RUN = Math.random().toString(36).slice(2, 8);
const NS = { annotate: `lull-e2e-wh-annotate-${RUN}`, label: `lull-e2e-wh-label-${RUN}`, misc: `lull-e2e-wh-misc-${RUN}` };
const LULL = ['--as=system:serviceaccount:lull-system:lull-reconciler', '--as-group=system:masters'];
const LOG = resolve(REPO_ROOT, '.lull', 'e2e-webhook.log');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function kubectl(args: string[], input?: string): Promise<Result> {
  const child = spawn(KUBECTL, args, { env: { ...process.env, KUBECONFIG } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  const [code] = (await once(child, 'close')) as [number];
  return { code, stdout, stderr };
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const getJson = async <T = any>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '-o', 'json']));
const apply = (object: unknown) => ok(['apply', '-f', '-'], JSON.stringify(object));

async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function httpGet(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}

/** The serial of the certificate the webhook serves now, verified against `ca`. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect({ host: GATEWAY, port, ca }, () => {
      done(socket.getPeerX509Certificate()!.serialNumber);
      socket.end();
    });
    socket.on('error', fail);
  });
}

function webDeployment(name: string, namespace: string, annotations: Record<string, string> = {}, replicas = 2) {
  const app: Record<string, unknown> = {
    name: 'app',
    image: 'node:24',
    command: ['node', resolve(REPO_ROOT, 'test/fixtures/http-app.ts'), '--port', '8080', '--name', name],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [app],
        },
      },
    },
  };
}


let port = 0;
let webhook: ChildProcess | undefined;

async function startWebhook(): Promise<void> {
  mkdirSync(resolve(LOG, '..'), { recursive: true });
  const log = createWriteStream(LOG, { flags: 'a' });
  webhook = spawn(
    process.execPath,
    [
      resolve(REPO_ROOT, 'bin/lull.ts'),
      'webhook',
      ...['--host', GATEWAY, '--port', String(port), '--service', '', '--ip-address', GATEWAY],
      ...['--namespace', 'lull-system', '--secret', SECRET, '--mutating-config', CONFIG, '--validating-config', CONFIG],
      // Rotation every ~10 s, for the whole run.
      ...['--cert-validity', '30s', '--renew-before', '20s', '--resync', '5s', '--shutdown-delay', '0s', '--kubeconfig', KUBECONFIG],
    ],
    { env: { ...process.env, LULL_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  webhook.stdout!.pipe(log);
  webhook.stderr!.pipe(log);
  await until('the caBundle is written', async () => {
    if (webhook?.exitCode !== null) throw new Error(`lull webhook exited (${webhook?.exitCode}); see ${LOG}`);
    const config = await getJson(['get', 'mutatingwebhookconfiguration', CONFIG]).catch(() => undefined);
    return config?.webhooks?.[0]?.clientConfig?.caBundle !== undefined;
  });
  await until('the webhook injects', () => admits());
}

/** Polls `check` until it is true (expect.poll is for tests only; this also serves beforeAll). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; webhook log: ${LOG}`);
    await new Promise((next) => setTimeout(next, 200)); // Polling the API: there is no event to await.
  }
}

async function stopWebhook(): Promise<void> {
  if (!webhook || webhook.exitCode !== null) return;
  webhook.kill('SIGTERM');
  await once(webhook, 'exit');
}

/** A server-side dry run through the mutating webhook: true when it injected (so TLS is trusted and it answered). */
async function admits(namespace = NS.misc): Promise<boolean> {
  const out = await ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('probe', namespace, { 'lull.dev/enabled': 'true' }, 1)));
  return JSON.parse(out).spec.template.spec.initContainers?.some((c: { name: string }) => c.name === 'lull-sidecar') === true;
}

const sidecarOf = (deployment: any) => deployment.spec.template.spec.initContainers?.find((c: { name: string }) => c.name === 'lull-sidecar');

describe.skipIf(skip !== null)('lull webhook on the local cluster', () => {
  beforeAll(async () => {
    port = await freePort(GATEWAY);
    await ok(['create', 'namespace', 'lull-system']).catch(() => undefined);
    for (const name of Object.values(NS)) {
      await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [SCOPE_LABEL]: 'true', ...(name === NS.label ? { 'lull.dev/inject': 'enabled' } : {}) } } });
    }
    await ok(['delete', 'secret', SECRET, CA_SECRET, '-n', 'lull-system', '--ignore-not-found']);
    for (const config of webhookConfigurations(CONFIG, `https://${GATEWAY}:${port}`, SCOPE_LABEL)) await apply(config);
    await startWebhook();
  });

  afterAll(async () => {
    await stopWebhook();
    await ok(['delete', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', CONFIG, '--ignore-not-found']).catch(() => undefined);
    await ok(['delete', 'namespace', ...Object.values(NS), '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await ok(['delete', 'secret', SECRET, CA_SECRET, '-n', 'lull-system', '--ignore-not-found']).catch(() => undefined);
  });

  it('rolls an annotated Deployment out with the sidecar, and it keeps serving through its Service', async () => {
    const ns = NS.annotate;
    // A common real-world app: a preStop sleep covers the time endpoints take to forget a stopping pod.
    const web = webDeployment('web', ns);
    web.spec.template.spec.containers[0]!.lifecycle = { preStop: { sleep: { seconds: 3 } } };
    await apply(web);
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    await ok(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=120s']);
    const clusterIP = (await getJson(['get', 'svc', 'web', '-n', ns])).spec.clusterIP as string;
    await expect.poll(() => httpGet(`http://${clusterIP}/`).then((r) => r.status, () => 0), { timeout: 30_000, interval: 100 }).toBe(200);

    // Ask the Service all along, a request every 20 ms: every answer must be the app's.
    let polling = true;
    const log: string[] = [];
    let answered = 0;
    let failed = 0;
    const phase = (name: string) => log.push(`${new Date().toISOString()} -- ${name}`);
    const poller = (async () => {
      while (polling) {
        const r = await httpGet(`http://${clusterIP}/`).catch((err: Error) => ({ status: 0, body: err.message }));
        if (r.status === 200 && r.body.startsWith('hello from web')) answered++;
        else {
          failed++;
          log.push(`${new Date().toISOString()} ${r.status} ${r.body.slice(0, 80)}`);
        }
        await new Promise((next) => setTimeout(next, 20)); // A steady request rate, not a wait for a condition.
      }
    })();

    phase('annotate lull.dev/enabled=true');
    const annotated = JSON.parse(await ok(['annotate', 'deploy/web', '-n', ns, 'lull.dev/enabled=true', '-o', 'json']));
    expect(sidecarOf(annotated)).toMatchObject({ restartPolicy: 'Always', args: ['sidecar'] });
    expect(annotated.metadata.annotations['lull.dev/injected']).toBeDefined();
    // The user's own preStop is kept as it is.
    expect(annotated.spec.template.spec.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 3 } } });
    await ok(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);

    // The reconciler's touch after the rollout routes the Service through the sidecar.
    phase('route the Service');
    await ok(['annotate', 'svc/web', '-n', ns, `lull.dev/touched-at=${new Date().toISOString()}`, '--overwrite', ...LULL]);
    const svc = await getJson(['get', 'svc', 'web', '-n', ns]);
    expect(svc.spec.ports[0].targetPort).toBe('lull-8080');
    expect(JSON.parse(svc.metadata.annotations['lull.dev/original-target-ports'])).toEqual({ 80: 'http' });
    const slicePorts = async () => (await getJson(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web'])).items.flatMap((s: any) => s.ports ?? []).map((p: any) => p.port);
    await expect.poll(slicePorts, { timeout: 30_000, interval: 200 }).toEqual([9931]);

    // Requests reach the app through the sidecars now: their activity counts them.
    // Old pods (no sidecar) may still be terminating: only the current ones.
    const pods = ((await getJson(['get', 'pods', '-n', ns, '-l', 'app=web', '--field-selector=status.phase=Running'])).items as any[]).filter((p) => !p.metadata.deletionTimestamp && sidecarOf({ spec: { template: p } }));
    const requests = async () => {
      const counts = await Promise.all(pods.map((p) => httpGet(`http://${p.status.podIP}:9930/lull/activity`).then((r) => JSON.parse(r.body).requestsTotal as number)));
      return counts.reduce((a, b) => a + b, 0);
    };
    const before = await requests();
    await expect.poll(async () => (await requests()) - before, { timeout: 10_000, interval: 200 }).toBeGreaterThan(5);

    // The user drops their preStop: Lull's drain takes its place, and alone keeps the next rollout clean.
    phase('remove the user preStop');
    const edited = JSON.parse(await ok(['patch', 'deploy/web', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/template/spec/containers/0/lifecycle"}]', '-o', 'json']));
    const hook = edited.spec.template.spec.containers[0].lifecycle.preStop.httpGet;
    expect(hook).toMatchObject({ path: '/lull/drain', port: 9930 });
    // The hook proves to the sidecar that the drain is the pod's own: the same token is in the sidecar's env.
    const token = sidecarOf(edited).env.find((e: { name: string }) => e.name === 'LULL_DRAIN_TOKEN')?.value;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hook.httpHeaders).toEqual([{ name: 'X-Lull-Drain-Token', value: token }]);
    await ok(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);
    phase('rollout restart (pods with only the drain hook stop)');
    await ok(['rollout', 'restart', 'deploy/web', '-n', ns]);
    await ok(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);
    await expect.poll(slicePorts, { timeout: 30_000, interval: 200 }).toEqual([9931]);
    // Every stopped pod's sidecar accepted its drain: a refused one is a FailedPreStopHook event.
    const failedHooks = (await getJson(['get', 'events', '-n', ns, '--field-selector', 'reason=FailedPreStopHook'])).items.map((e: any) => e.message);
    expect(failedHooks).toEqual([]);

    polling = false;
    await poller;
    expect(failed, log.join('\n')).toBe(0);
    expect(answered).toBeGreaterThan(50);
  });

  it('injects in a namespace labelled lull.dev/inject=enabled, and opting out restores the Deployment', async () => {
    const ns = NS.label;
    const created = JSON.parse(await ok(['create', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('api', ns, {}, 1))));
    expect(sidecarOf(created)).toBeDefined();
    expect(created.spec.template.spec.terminationGracePeriodSeconds).toBe(40);
    expect(JSON.parse(created.metadata.annotations['lull.dev/original-grace-period'])).toEqual({ was: 30, set: 40 });

    const optedOut = JSON.parse(await ok(['annotate', 'deploy/api', '-n', ns, 'lull.dev/enabled=false', '-o', 'json']));
    expect(optedOut.spec.template.spec.initContainers).toBeUndefined();
    expect(optedOut.spec.template.spec.containers[0].lifecycle).toBeUndefined();
    expect(optedOut.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    expect(Object.keys(optedOut.metadata.annotations).filter((k) => k.startsWith('lull.dev/'))).toEqual(['lull.dev/enabled']);
  });

  it('refuses a bad annotation value with a message kubectl shows', async () => {
    await apply(webDeployment('plain', NS.misc, {}, 0));
    const r = await kubectl(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/idle-after=5x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "validate.lull.dev" denied the request: annotation lull.dev/idle-after has value "5x": a duration such as 90s, 15m or 1h30m, from 1s to 30 days');
    const good = await kubectl(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/idle-after=90s']);
    expect(good.code).toBe(0);
  });

  it('refuses a user edit of an annotation Lull owns, and lets Lull write it', async () => {
    const r = await kubectl(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/state=sleeping']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('annotation lull.dev/state is written by Lull only; remove it from your change');
    const forged = await kubectl(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/injected=9.9.9']);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain('admission webhook "mutate.lull.dev" denied the request: annotation lull.dev/injected is written by Lull only');
    expect((await kubectl(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/state=sleeping', ...LULL])).code).toBe(0);
  });

  it('keeps admitting while the serving certificate rotates', async () => {
    const secret = async () => (await getJson(['get', 'secret', SECRET, '-n', 'lull-system'])).data as Record<string, string>;
    const ca = Buffer.from((await secret())['ca.crt']!, 'base64').toString();
    const serialOf = (data: Record<string, string>) => new X509Certificate(Buffer.from(data['tls.crt']!, 'base64')).serialNumber;
    const seen = new Set<string>([serialOf(await secret())]);
    for (let rotation = 0; rotation < 2; rotation++) {
      await expect.poll(async () => seen.has(serialOf(await secret())), { timeout: 40_000, interval: 500 }).toBe(false);
      const current = serialOf(await secret());
      seen.add(current);
      await expect.poll(() => servedSerial(port, ca), { timeout: 15_000, interval: 200 }).toBe(current);
      expect(await admits()).toBe(true);
    }
    expect((await secret())['ca.crt']).toBe(Buffer.from(ca).toString('base64'));
    // The CA key is kept apart: only the CA Secret holds it.
    expect(Object.keys(await secret()).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const caSecret = (await getJson(['get', 'secret', CA_SECRET, '-n', 'lull-system'])).data as Record<string, string>;
    expect(Object.keys(caSecret).sort()).toEqual(['ca.crt', 'ca.key']);
    expect(caSecret['ca.crt']).toBe(Buffer.from(ca).toString('base64'));
  });

  it('still admits Deployments with the webhook stopped, and heals them once it is back', async () => {
    await stopWebhook();
    const created = JSON.parse(await ok(['create', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('unhooked', NS.misc, { 'lull.dev/enabled': 'true' }, 0))));
    expect(sidecarOf(created)).toBeUndefined();
    await startWebhook();
    const touched = JSON.parse(await ok(['annotate', 'deploy/unhooked', '-n', NS.misc, `lull.dev/touched-at=${new Date().toISOString()}`, '-o', 'json', ...LULL]));
    expect(sidecarOf(touched)).toBeDefined();
  });
});

