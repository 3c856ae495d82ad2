// Least privilege, proven against the real apiserver: each of Lull's ServiceAccounts (impersonated
// with the admin kubeconfig) tries the writes its RBAC allows but its ValidatingAdmissionPolicy
// (deploy/base/policy) forbids, and sees each refused with the policy's message; the writes Lull
// makes succeed. Also: no label lets an object skip the webhooks. Lull is installed isolated
// (support/lull-from-deploy.ts). The apps namespace is outside its scope, so nothing but the policies
// acts on those objects; in the scoped namespace the webhook and reconciler act for real.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeClient, loadKubeConfig, PATCH } from '../../core/kube-client.ts';
import { fixtureApp } from './support/fixture-apps.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { REPO, type Run } from './support/kubectl.ts';
import { installIsolated, type Installed } from './support/lull-from-deploy.ts';
import { createNamespace } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const kubectl = clusterKubectl();
const ID = randomBytes(3).toString('hex');
const LULL_NS = `lull-e2e-priv-${ID}`;
const APPS_NS = `lull-e2e-priv-apps-${ID}`;
const SCOPED_NS = `lull-e2e-priv-scoped-${ID}`;
const SYSTEM_APP = `lull-e2e-priv-${ID}`;
const SCOPE = { key: `e2e.lull.dev/priv-${ID}`, value: 'true' };

const kubectlAs = (user: string, args: string[], input?: string): Promise<Run> => kubectl.run([...args, `--as=${user}`], input);
const sa = (name: string) => `system:serviceaccount:${LULL_NS}:${name}`;
const INTERCEPTOR = sa('lull-interceptor');
const RECONCILER = sa('lull-reconciler');
const WEBHOOK = sa('lull-webhook');

/** Runs kubectl as `user`; expects success. */
async function allowed(user: string, args: string[], input?: string): Promise<void> {
  const r = await kubectlAs(user, args, input);
  expect(r.stderr, `kubectl ${args.join(' ')} as ${user}`).toBe('');
  expect(r.code).toBe(0);
}

/** Runs kubectl as `user`; expects the policy to refuse it with `message`. */
async function refused(user: string, args: string[], message: string, input?: string): Promise<void> {
  const r = await kubectlAs(user, args, input);
  expect(r.code, `kubectl ${args.join(' ')} as ${user} should fail`).not.toBe(0);
  expect(r.stderr).toContain('ValidatingAdmissionPolicy');
  expect(r.stderr).toContain(message);
}

// `kubectl patch` reads the object first, which the parts' RBAC does not allow: patches go to the API as the parts send them.
const api = () => kubeClient(loadKubeConfig(kubectl.kubeconfig));
type Patch = { json: unknown[] } | { merge: unknown };
const jsonPatch = (ops: unknown[]): Patch => ({ json: ops });
const mergePatch = (patch: unknown): Patch => ({ merge: patch });
const deploymentAt = (namespace: string, name: string, scale = false) => `/apis/apps/v1/namespaces/${namespace}/deployments/${name}${scale ? '/scale' : ''}`;
const serviceAt = (namespace: string, name: string) => `/api/v1/namespaces/${namespace}/services/${name}`;

/** PATCHes `path` as `user`; the refusal's message, or undefined when it was applied. */
async function patchAs(user: string, path: string, patch: Patch): Promise<string | undefined> {
  const headers = { 'Impersonate-User': user };
  try {
    await api().request('PATCH', path, 'json' in patch ? { body: patch.json, contentType: PATCH.json, headers } : { body: patch.merge, contentType: PATCH.merge, headers });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function patchAllowed(user: string, path: string, patch: Patch): Promise<void> {
  expect(await patchAs(user, path, patch), `PATCH ${path} as ${user}`).toBeUndefined();
}

async function patchRefused(user: string, path: string, patch: Patch, message: string): Promise<void> {
  const refusal = await patchAs(user, path, patch);
  expect(refusal, `PATCH ${path} as ${user} should be refused`).toBeDefined();
  expect(refusal).toContain('ValidatingAdmissionPolicy');
  expect(refusal).toContain(message);
}

const scaleFromZero = jsonPatch([
  { op: 'test', path: '/spec', value: {} },
  { op: 'add', path: '/spec/replicas', value: 1 },
]);

const deployment = (name: string, namespace: string, replicas: number, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) =>
  fixtureApp(name, { namespace, replicas, ...extra, command: ['node', '-e', 'setInterval(() => {}, 1000)'] });

function slice(name: string, service: string, managedBy: string, targetNamespace?: string) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: APPS_NS, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': managedBy } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 20001, protocol: 'TCP' }],
    endpoints: targetNamespace ? [{ addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', namespace: targetNamespace, name: 'somewhere', uid: '00000000-0000-0000-0000-000000000000' } }] : [],
  };
}

onCluster('least privilege of Lull’s ServiceAccounts on the local cluster', () => {
  let installed: Installed | undefined;
  let sidecarImage = '';

  beforeAll(async () => {
    installed = await installIsolated(kubectl, { namespace: LULL_NS, suffix: `-e2e-priv-${ID}`, selector: SCOPE }, resolve(REPO, '.lull', 'e2e-privileges', `lull-${ID}.yaml`));
    const policy = installed.docs.find((d) => d.kind === 'ValidatingAdmissionPolicy' && d.metadata.name.startsWith('lull-reconciler-deployments'))!;
    sidecarImage = JSON.parse(policy.spec.variables.find((v: { name: string }) => v.name === 'sidecarImage').expression);
    await createNamespace(kubectl, APPS_NS);
    await createNamespace(kubectl, SCOPED_NS, { [SCOPE.key]: SCOPE.value });
    const objects = [
      deployment('asleep', APPS_NS, 0, { annotations: { 'lull.dev/state': 'sleeping' } }),
      deployment('awake', APPS_NS, 1),
      deployment(SYSTEM_APP, 'kube-system', 0),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: APPS_NS }, spec: { selector: { app: 'awake' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
      slice('web-theirs', 'web', 'someone-else'),
    ];
    await kubectl.apply(...objects);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', APPS_NS, SCOPED_NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await kubectl(['delete', 'deployment', SYSTEM_APP, '-n', 'kube-system', '--ignore-not-found']).catch(() => undefined);
    await installed?.uninstall();
  });

  describe('the interceptor', () => {
    it('scales a Deployment up from zero and marks it waking, and nothing more', async () => {
      await patchAllowed(INTERCEPTOR, deploymentAt(APPS_NS, 'asleep', true), scaleFromZero);
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'awake', true), mergePatch({ spec: { replicas: 5 } }), 'lull-interceptor may only scale a Deployment up from zero replicas');
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'asleep', true), mergePatch({ spec: { replicas: 0 } }), 'lull-interceptor may only scale a Deployment up from zero replicas');

      const waking = jsonPatch([
        { op: 'test', path: '/metadata/annotations/lull.dev~1state', value: 'sleeping' },
        { op: 'replace', path: '/metadata/annotations/lull.dev~1state', value: 'waking' },
      ]);
      await patchAllowed(INTERCEPTOR, deploymentAt(APPS_NS, 'asleep'), waking);
      const onlyWaking = "lull-interceptor may only change a Deployment's lull.dev/state annotation to waking";
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'asleep'), mergePatch({ metadata: { annotations: { 'lull.dev/state': 'awake' } } }), onlyWaking);
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'awake'), jsonPatch([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'busybox' }]), onlyWaking);
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'awake'), mergePatch({ metadata: { annotations: { 'example.com/owner': 'me' } } }), onlyWaking);
      await patchRefused(INTERCEPTOR, deploymentAt(APPS_NS, 'awake'), mergePatch({ metadata: { labels: { owner: 'me' } } }), onlyWaking);
      const image = JSON.parse(await kubectl(['get', 'deployment', 'awake', '-n', APPS_NS, '-o', 'json'])).spec.template.spec.containers[0].image;
      expect(image).toBe('node:24');
    });

    it('touches nothing in a namespace Lull excludes', async () => {
      await patchRefused(INTERCEPTOR, deploymentAt('kube-system', SYSTEM_APP, true), scaleFromZero, 'lull-interceptor may not change anything in namespace kube-system: Lull excludes it');
      expect(JSON.parse(await kubectl(['get', 'deployment', SYSTEM_APP, '-n', 'kube-system', '-o', 'json'])).spec.replicas).toBe(0);
    });
  });

  describe('the reconciler', () => {
    it('writes lull.dev/ annotations and replicas of a Deployment, and nothing else of it', async () => {
      await patchAllowed(RECONCILER, deploymentAt(APPS_NS, 'awake'), mergePatch({ metadata: { annotations: { 'lull.dev/state': 'awake', 'lull.dev/touched-at': new Date().toISOString() } } }));
      await patchAllowed(RECONCILER, deploymentAt(APPS_NS, 'awake', true), mergePatch({ spec: { replicas: 0 } }));
      const metadataOnly = "lull-reconciler may change only lull.dev/ annotations of a Deployment's metadata";
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), mergePatch({ metadata: { annotations: { 'example.com/owner': 'me' } } }), metadataOnly);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), mergePatch({ metadata: { labels: { owner: 'me' } } }), metadataOnly);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), mergePatch({ spec: { minReadySeconds: 30 } }), "lull-reconciler may change only the replicas and the pod template's Lull parts of a Deployment");
    });

    it('changes a pod template only as Lull’s injection does', async () => {
      const injection = (image: string, extra: unknown[] = []) =>
        jsonPatch([
          { op: 'add', path: '/spec/template/spec/initContainers', value: [{ name: 'lull-sidecar', image, args: ['sidecar'], restartPolicy: 'Always', env: [{ name: 'LULL_PORTS', value: '8080:9931' }] }] },
          { op: 'add', path: '/spec/template/spec/containers/0/lifecycle', value: { preStop: { httpGet: { path: '/lull/drain', port: 9930, scheme: 'HTTP' } } } },
          { op: 'add', path: '/spec/template/spec/terminationGracePeriodSeconds', value: 40 },
          { op: 'add', path: '/metadata/annotations/lull.dev~1injected', value: '0.1.0' },
          ...extra,
        ]);
      const onlyInjection = "lull-reconciler may change the pod template only as Lull's injection does";
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection('busybox'), onlyInjection);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection(sidecarImage, [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'busybox' }]), onlyInjection);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection(sidecarImage, [{ op: 'add', path: '/spec/template/spec/hostNetwork', value: true }]), onlyInjection);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection(sidecarImage, [{ op: 'add', path: '/spec/template/spec/initContainers/0/env/-', value: { name: 'NODE_OPTIONS', value: '--require /tmp/x.js' } }]), onlyInjection);
      await patchRefused(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection(sidecarImage, [{ op: 'add', path: '/spec/template/spec/initContainers/0/command', value: ['sh', '-c', 'id'] }]), onlyInjection);
      await patchAllowed(RECONCILER, deploymentAt(APPS_NS, 'awake'), injection(sidecarImage));
      // ... and its removal, as opt-out does.
      await patchAllowed(RECONCILER, deploymentAt(APPS_NS, 'awake'), jsonPatch([
        { op: 'remove', path: '/spec/template/spec/initContainers' },
        { op: 'remove', path: '/spec/template/spec/containers/0/lifecycle' },
        { op: 'replace', path: '/spec/template/spec/terminationGracePeriodSeconds', value: 30 },
        { op: 'remove', path: '/metadata/annotations/lull.dev~1injected' },
      ]));
    });

    it('writes a Service’s lull.dev/ annotations and targetPorts, nothing else', async () => {
      await patchAllowed(RECONCILER, serviceAt(APPS_NS, 'web'), mergePatch({ metadata: { annotations: { 'lull.dev/interceptor-ports': '{"deployment":"awake","ports":{"http":20001}}' } } }));
      await patchAllowed(RECONCILER, serviceAt(APPS_NS, 'web'), jsonPatch([{ op: 'replace', path: '/spec/ports/0/targetPort', value: 'lull-8080' }]));
      const specOnly = "lull-reconciler may change only the targetPorts of a Service's spec";
      await patchRefused(RECONCILER, serviceAt(APPS_NS, 'web'), mergePatch({ spec: { selector: { app: 'asleep' } } }), specOnly);
      await patchRefused(RECONCILER, serviceAt(APPS_NS, 'web'), jsonPatch([{ op: 'replace', path: '/spec/ports/0/port', value: 8081 }]), specOnly);
      await patchRefused(RECONCILER, serviceAt(APPS_NS, 'web'), mergePatch({ metadata: { labels: { owner: 'me' } } }), "lull-reconciler may change only lull.dev/ annotations of a Service's metadata");
      const svc = JSON.parse(await kubectl(['get', 'service', 'web', '-n', APPS_NS, '-o', 'json']));
      expect(svc.spec.selector).toEqual({ app: 'awake' });
      expect(svc.spec.ports[0].targetPort).toBe('lull-8080');
    });

    it('writes only its own EndpointSlices, leading only to Lull’s namespace', async () => {
      const own = slice('web-lull', 'web', 'reconciler.lull.dev', LULL_NS);
      await allowed(RECONCILER, ['create', '-f', '-'], JSON.stringify(own));
      await allowed(RECONCILER, ['replace', '-f', '-'], JSON.stringify({ ...own, metadata: { ...own.metadata, resourceVersion: JSON.parse(await kubectl(['get', 'endpointslice', 'web-lull', '-n', APPS_NS, '-o', 'json'])).metadata.resourceVersion }, endpoints: [] }));
      const onlyOwn = 'lull-reconciler may write only its own EndpointSlices';
      await refused(RECONCILER, ['create', '-f', '-'], onlyOwn, JSON.stringify(slice('web-evil', 'web', 'reconciler.lull.dev')));
      await refused(RECONCILER, ['create', '-f', '-'], onlyOwn, JSON.stringify(slice('web-lull', 'web', 'endpointslice-controller.k8s.io')));
      await refused(RECONCILER, ['delete', 'endpointslice', 'web-theirs', '-n', APPS_NS], onlyOwn);
      await refused(RECONCILER, ['replace', '-f', '-'], "lull-reconciler's EndpointSlices may lead only to interceptor pods in Lull's namespace", JSON.stringify(slice('web-lull', 'web', 'reconciler.lull.dev', APPS_NS)));
      await allowed(RECONCILER, ['delete', 'endpointslice', 'web-lull', '-n', APPS_NS]);
    });

    it('touches nothing in a namespace Lull excludes', async () => {
      const excluded = 'lull-reconciler may not change anything in namespace kube-system: Lull excludes it';
      await patchRefused(RECONCILER, deploymentAt('kube-system', SYSTEM_APP, true), mergePatch({ spec: { replicas: 1 } }), excluded);
      await patchRefused(RECONCILER, deploymentAt('kube-system', SYSTEM_APP), mergePatch({ metadata: { annotations: { 'lull.dev/state': 'awake' } } }), excluded);
    });
  });

  it('lets the reconciler’s touches through when the webhook injects and strips (the policy allows Lull’s own change)', async () => {
    await kubectl.apply(deployment('existing', SCOPED_NS, 1));
    await kubectl(['label', 'namespace', SCOPED_NS, 'lull.dev/inject=enabled']);
    const sidecarOf = async () => {
      const d = JSON.parse(await kubectl(['get', 'deployment', 'existing', '-n', SCOPED_NS, '-o', 'json']));
      return { injected: d.metadata.annotations?.['lull.dev/injected'], sidecar: (d.spec.template.spec.initContainers ?? []).find((c: any) => c.name === 'lull-sidecar') };
    };
    const onboarded = await waitFor('the reconciler to touch existing and the webhook to inject it', async () => ((await sidecarOf()).injected ? sidecarOf() : undefined), 90_000, 500);
    expect(onboarded.sidecar.image).toBe(sidecarImage);
    await kubectl(['label', 'namespace', SCOPED_NS, 'lull.dev/inject-']);
    await waitFor('the reconciler to touch existing and the webhook to strip it', async () => (await sidecarOf()).sidecar === undefined, 90_000, 500);
  });

  it('lets the webhook change only the caBundle of its webhook configurations', async () => {
    const name = installed!.docs.find((d) => d.kind === 'ValidatingWebhookConfiguration')!.metadata.name as string;
    const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`;
    const current = JSON.parse(await kubectl(['get', 'validatingwebhookconfiguration', name, '-o', 'json']));
    await patchAllowed(WEBHOOK, path, jsonPatch([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: current.webhooks[0].clientConfig.caBundle }]));
    const onlyBundle = 'lull-webhook may change only the caBundle of its webhook configurations';
    await patchRefused(WEBHOOK, path, jsonPatch([{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail' }]), onlyBundle);
    await patchRefused(WEBHOOK, path, jsonPatch([{ op: 'replace', path: '/webhooks/0/namespaceSelector', value: {} }]), onlyBundle);
    await patchRefused(WEBHOOK, path, jsonPatch([{ op: 'remove', path: '/webhooks/0/rules/0' }]), onlyBundle);
    expect(JSON.parse(await kubectl(['get', 'validatingwebhookconfiguration', name, '-o', 'json'])).webhooks[0]).toEqual(current.webhooks[0]);
  });

  it('lets no label skip the webhooks: an object labelled part-of lull is still validated', async () => {
    const labelled = deployment('dressed-up', SCOPED_NS, 1, { labels: { 'app.kubernetes.io/part-of': 'lull' }, annotations: { 'lull.dev/state': 'sleeping' } });
    const r = await kubectl.run(['apply', '-f', '-'], JSON.stringify(labelled));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('annotation lull.dev/state is written by Lull only; remove it from your change');
  });
});
