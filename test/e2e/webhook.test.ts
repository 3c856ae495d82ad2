// The webhook against the real apiserver: registered by URL to a `lull webhook` process on the host,
// bound to the cluster bridge's gateway address, with short-lived certificates so that rotation
// happens while the other tests run.
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../cluster/layout.ts';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get as httpGet } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { GATEWAY, startHostWebhook, type HostWebhook } from './support/lull-on-host.ts';
import { createNamespace, uniqueName } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const kubectl = clusterKubectl();
const CONFIG = 'lull-e2e-webhook';
const SECRET = 'lull-e2e-webhook-tls';
// The webhook keeps its CA apart, in the Secret named after SECRET with -ca.
const CA_SECRET = 'lull-e2e-webhook-ca';
const SCOPE_LABEL = 'e2e.lull.dev/webhook';
const NS = { annotate: uniqueName('lull-e2e-wh-annotate'), label: uniqueName('lull-e2e-wh-label'), misc: uniqueName('lull-e2e-wh-misc') };
const LULL = ['--as=system:serviceaccount:lull-system:lull-reconciler', '--as-group=system:masters'];
const LOG = resolve(REPO_ROOT, '.lull', 'e2e-webhook.log');

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

const webDeployment = (name: string, namespace: string, annotations: Record<string, string> = {}, replicas = 2) => fixtureApp(name, { namespace, annotations, replicas, probed: true });

let webhook: HostWebhook | undefined;

async function startWebhook(): Promise<void> {
  await webhook!.start();
  await waitFor(`the webhook to inject (its log: ${LOG})`, () => admits(), 30_000, 200);
}

/** A server-side dry run through the mutating webhook: true when it injected (so TLS is trusted and it answered). */
async function admits(namespace = NS.misc): Promise<boolean> {
  const out = await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('probe', namespace, { 'lull.dev/enabled': 'true' }, 1)));
  return JSON.parse(out).spec.template.spec.initContainers?.some((c: { name: string }) => c.name === 'lull-sidecar') === true;
}

const sidecarOf = (deployment: any) => deployment.spec.template.spec.initContainers?.find((c: { name: string }) => c.name === 'lull-sidecar');

onCluster('lull webhook on the local cluster', () => {
  beforeAll(async () => {
    for (const name of Object.values(NS)) await createNamespace(kubectl, name, { [SCOPE_LABEL]: 'true', ...(name === NS.label ? { 'lull.dev/inject': 'enabled' } : {}) });
    // Rotation every ~10 s, for the whole run.
    webhook = await startHostWebhook({ kubectl, name: CONFIG, scopeLabel: SCOPE_LABEL, logFile: LOG, args: ['--cert-validity', '30s', '--renew-before', '20s', '--resync', '5s'] });
    await waitFor(`the webhook to inject (its log: ${LOG})`, () => admits(), 30_000, 200);
  });

  afterAll(async () => {
    await webhook?.remove();
    await kubectl.run(['delete', 'namespace', ...Object.values(NS), '--wait=false', '--ignore-not-found']).catch(() => undefined);
  });

  it('rolls an annotated Deployment out with the sidecar, and it keeps serving through its Service', async () => {
    const ns = NS.annotate;
    // A common real-world app: a preStop sleep covers the time endpoints take to forget a stopping pod.
    const web = webDeployment('web', ns);
    web.spec.template.spec.containers[0]!.lifecycle = { preStop: { sleep: { seconds: 3 } } };
    await kubectl.apply(web);
    await kubectl.apply(appService('web', ns));
    await kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=120s']);
    const clusterIP = (await kubectl.json(['get', 'svc', 'web', '-n', ns])).spec.clusterIP as string;
    await expect.poll(() => httpGet(`http://${clusterIP}/`, 1000).then((r) => r.status, () => 0), { timeout: 30_000, interval: 100 }).toBe(200);

    // Ask the Service all along, a request every 20 ms: every answer must be the app's.
    let polling = true;
    const log: string[] = [];
    let answered = 0;
    let failed = 0;
    const phase = (name: string) => log.push(`${new Date().toISOString()} -- ${name}`);
    const poller = (async () => {
      while (polling) {
        const r = await httpGet(`http://${clusterIP}/`, 1000).catch((err: Error) => ({ status: 0, body: err.message }));
        if (r.status === 200 && r.body.startsWith('hello from web')) answered++;
        else {
          failed++;
          log.push(`${new Date().toISOString()} ${r.status} ${r.body.slice(0, 80)}`);
        }
        await new Promise((next) => setTimeout(next, 20)); // A steady request rate, not a wait for a condition.
      }
    })();

    phase('annotate lull.dev/enabled=true');
    const annotated = JSON.parse(await kubectl(['annotate', 'deploy/web', '-n', ns, 'lull.dev/enabled=true', '-o', 'json']));
    expect(sidecarOf(annotated)).toMatchObject({ restartPolicy: 'Always', args: ['sidecar'] });
    expect(annotated.metadata.annotations['lull.dev/injected']).toBeDefined();
    // The user's own preStop is kept as it is.
    expect(annotated.spec.template.spec.containers[0].lifecycle).toEqual({ preStop: { sleep: { seconds: 3 } } });
    await kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);

    // The reconciler's touch after the rollout routes the Service through the sidecar.
    phase('route the Service');
    await kubectl(['annotate', 'svc/web', '-n', ns, `lull.dev/touched-at=${new Date().toISOString()}`, '--overwrite', ...LULL]);
    const svc = await kubectl.json(['get', 'svc', 'web', '-n', ns]);
    expect(svc.spec.ports[0].targetPort).toBe('lull-8080');
    expect(JSON.parse(svc.metadata.annotations['lull.dev/original-target-ports'])).toEqual({ 80: 'http' });
    const slicePorts = async () => (await kubectl.json(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web'])).items.flatMap((s: any) => s.ports ?? []).map((p: any) => p.port);
    await expect.poll(slicePorts, { timeout: 30_000, interval: 200 }).toEqual([9931]);

    // Requests reach the app through the sidecars now: their activity counts them.
    // Old pods (no sidecar) may still be terminating: only the current ones.
    const pods = ((await kubectl.json(['get', 'pods', '-n', ns, '-l', 'app=web', '--field-selector=status.phase=Running'])).items as any[]).filter((p) => !p.metadata.deletionTimestamp && sidecarOf({ spec: { template: p } }));
    const requests = async () => {
      const counts = await Promise.all(pods.map((p) => httpGet(`http://${p.status.podIP}:9930/lull/activity`, 1000).then((r) => JSON.parse(r.body).requestsTotal as number)));
      return counts.reduce((a, b) => a + b, 0);
    };
    const before = await requests();
    await expect.poll(async () => (await requests()) - before, { timeout: 10_000, interval: 200 }).toBeGreaterThan(5);

    // The user drops their preStop: Lull's drain takes its place, and alone keeps the next rollout clean.
    phase('remove the user preStop');
    const edited = JSON.parse(await kubectl(['patch', 'deploy/web', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/template/spec/containers/0/lifecycle"}]', '-o', 'json']));
    const hook = edited.spec.template.spec.containers[0].lifecycle.preStop.httpGet;
    expect(hook).toMatchObject({ path: '/lull/drain', port: 9930 });
    // The hook proves to the sidecar that the drain is the pod's own: the same token is in the sidecar's env.
    const token = sidecarOf(edited).env.find((e: { name: string }) => e.name === 'LULL_DRAIN_TOKEN')?.value;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hook.httpHeaders).toEqual([{ name: 'X-Lull-Drain-Token', value: token }]);
    await kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);
    phase('rollout restart (pods with only the drain hook stop)');
    await kubectl(['rollout', 'restart', 'deploy/web', '-n', ns]);
    await kubectl(['rollout', 'status', 'deploy/web', '-n', ns, '--timeout=150s']);
    await expect.poll(slicePorts, { timeout: 30_000, interval: 200 }).toEqual([9931]);
    // Every stopped pod's sidecar accepted its drain: a refused one is a FailedPreStopHook event.
    const failedHooks = (await kubectl.json(['get', 'events', '-n', ns, '--field-selector', 'reason=FailedPreStopHook'])).items.map((e: any) => e.message);
    expect(failedHooks).toEqual([]);

    polling = false;
    await poller;
    expect(failed, log.join('\n')).toBe(0);
    expect(answered).toBeGreaterThan(50);
  });

  it('injects in a namespace labelled lull.dev/inject=enabled, and opting out restores the Deployment', async () => {
    const ns = NS.label;
    const created = JSON.parse(await kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('api', ns, {}, 1))));
    expect(sidecarOf(created)).toBeDefined();
    expect(created.spec.template.spec.terminationGracePeriodSeconds).toBe(40);
    expect(JSON.parse(created.metadata.annotations['lull.dev/original-grace-period'])).toEqual({ was: 30, set: 40 });

    const optedOut = JSON.parse(await kubectl(['annotate', 'deploy/api', '-n', ns, 'lull.dev/enabled=false', '-o', 'json']));
    expect(optedOut.spec.template.spec.initContainers).toBeUndefined();
    expect(optedOut.spec.template.spec.containers[0].lifecycle).toBeUndefined();
    expect(optedOut.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    expect(Object.keys(optedOut.metadata.annotations).filter((k) => k.startsWith('lull.dev/'))).toEqual(['lull.dev/enabled']);
  });

  it('refuses a bad annotation value with a message kubectl shows', async () => {
    await kubectl.apply(webDeployment('plain', NS.misc, {}, 0));
    const r = await kubectl.run(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/idle-after=5x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "validate.lull.dev" denied the request: annotation lull.dev/idle-after has value "5x": a duration such as 90s, 15m or 1h30m, from 1s to 30 days');
    const good = await kubectl.run(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/idle-after=90s']);
    expect(good.code).toBe(0);
  });

  it('refuses a user edit of an annotation Lull owns, and lets Lull write it', async () => {
    const r = await kubectl.run(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/state=sleeping']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('annotation lull.dev/state is written by Lull only; remove it from your change');
    const forged = await kubectl.run(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/injected=9.9.9']);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain('admission webhook "mutate.lull.dev" denied the request: annotation lull.dev/injected is written by Lull only');
    expect((await kubectl.run(['annotate', 'deploy/plain', '-n', NS.misc, 'lull.dev/state=sleeping', ...LULL])).code).toBe(0);
  });

  it('keeps admitting while the serving certificate rotates', async () => {
    const secret = async () => (await kubectl.json(['get', 'secret', SECRET, '-n', 'lull-system'])).data as Record<string, string>;
    const ca = Buffer.from((await secret())['ca.crt']!, 'base64').toString();
    const serialOf = (data: Record<string, string>) => new X509Certificate(Buffer.from(data['tls.crt']!, 'base64')).serialNumber;
    const seen = new Set<string>([serialOf(await secret())]);
    for (let rotation = 0; rotation < 2; rotation++) {
      await expect.poll(async () => seen.has(serialOf(await secret())), { timeout: 40_000, interval: 500 }).toBe(false);
      const current = serialOf(await secret());
      seen.add(current);
      await expect.poll(() => servedSerial(webhook!.port, ca), { timeout: 15_000, interval: 200 }).toBe(current);
      expect(await admits()).toBe(true);
    }
    expect((await secret())['ca.crt']).toBe(Buffer.from(ca).toString('base64'));
    // The CA key is kept apart: only the CA Secret holds it.
    expect(Object.keys(await secret()).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const caSecret = (await kubectl.json(['get', 'secret', CA_SECRET, '-n', 'lull-system'])).data as Record<string, string>;
    expect(Object.keys(caSecret).sort()).toEqual(['ca.crt', 'ca.key']);
    expect(caSecret['ca.crt']).toBe(Buffer.from(ca).toString('base64'));
  });

  it('still admits Deployments with the webhook stopped, and heals them once it is back', async () => {
    await webhook!.stop();
    const created = JSON.parse(await kubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(webDeployment('unhooked', NS.misc, { 'lull.dev/enabled': 'true' }, 0))));
    expect(sidecarOf(created)).toBeUndefined();
    await startWebhook();
    const touched = JSON.parse(await kubectl(['annotate', 'deploy/unhooked', '-n', NS.misc, `lull.dev/touched-at=${new Date().toISOString()}`, '-o', 'json', ...LULL]));
    expect(sidecarOf(touched)).toBeDefined();
  });
});

