// The image users pull, run by the local cluster: deploy/ (isolated, support/isolated-lull.ts) starts
// every part from the OCI image scripts/build-image.sh built (cluster up registers it in the kubelet's
// store), inside its rootfs, as its non-root user; the Dockerfile declares the same layout; the
// injected sidecar runs from it too, admitted by the apiserver's PodSecurity `restricted`; and an image
// without a production dependency fails with a clear log. Pids come from the kubelet's container IDs
// (lull-process://<pid>), read in /proc as a runtime's process list would be.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { imageStore } from '../cluster/image.ts';
import { findImage } from '../cluster/kubelet/image-store.ts';
import { clusterFiles, clusterLayout } from '../cluster/layout.ts';
import { dockerfileFinalStage } from './support/dockerfile.ts';
import { get } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { REPO, run } from './support/kubectl.ts';
import { installIsolated, type Installed } from './support/lull-from-deploy.ts';
import { createNamespace } from './support/namespaces.ts';
import { waitFor } from './support/wait.ts';

const ID = randomBytes(3).toString('hex');
const LULL_NS = `lull-e2e-image-${ID}`;
const APPS_NS = `lull-e2e-image-apps-${ID}`;
const SCOPE = { key: `e2e.lull.dev/image-${ID}`, value: 'true' };
const VERSION = (JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `ghcr.io/lull-dev/lull:${VERSION}`;
const STORE = imageStore(clusterLayout());

const kubectl = clusterKubectl();

const pidOf = (status: { containerID?: string } | undefined): number | undefined => {
  const m = /^lull-process:\/\/(\d+)$/.exec(status?.containerID ?? '');
  return m ? Number(m[1]) : undefined;
};

/** What /proc says about a container's process: its ids, no_new_privs, argv, and what its root holds. */
function processFacts(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.split(/\s+/) ?? [];
  return {
    uid: Number(field('Uid')[0]),
    gid: Number(field('Gid')[0]),
    noNewPrivs: field('NoNewPrivs')[0],
    argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
    root: (path: string) => `/proc/${pid}/root${path}`,
  };
}

/** The packages `npm ci --omit=dev` installs at the top of node_modules, from the lock file. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(resolve(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const names = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !path.slice('node_modules/'.length).includes('/node_modules/') && p.dev !== true)
    .map(([path]) => path.slice('node_modules/'.length).split('/')[0]!);
  return [...new Set(names)].sort();
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Registers `<image>-<suffix>` in the store: the image plus one layer whose OCI whiteout removes
 * `path`, as a build that forgot it would ship.
 */
async function registerVariantWithout(path: string, suffix: string): Promise<string> {
  const index = JSON.parse(readFileSync(join(STORE, 'index.json'), 'utf8')) as { manifests: any[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === IMAGE);
  const blob = (digest: string) => join(STORE, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8'));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'lull-variant-'));
  const parent = path.slice(1, path.lastIndexOf('/'));
  mkdirSync(join(dir, parent), { recursive: true });
  writeFileSync(join(dir, parent, `.wh.${path.slice(path.lastIndexOf('/') + 1)}`), '');
  const tar = await run('tar', ['--create', '--gzip', '--numeric-owner', '--owner=0', '--group=0', '--directory', dir, '--file', join(dir, 'layer.tar.gz'), parent.split('/')[0]!]);
  if (tar.code !== 0) throw new Error(`tar: ${tar.stderr}`);
  const layer = readFileSync(join(dir, 'layer.tar.gz'));
  const put = (data: Buffer | string) => { const d = sha256(data); writeFileSync(blob(d), data); return { digest: d, size: Buffer.byteLength(data) }; };
  const layerDesc = put(layer);
  config.rootfs.diff_ids.push(sha256(gunzipSync(layer)));
  config.history = [...(config.history ?? []), { created_by: `remove ${path}` }];
  const configDesc = put(JSON.stringify(config));
  const manifestDesc = put(JSON.stringify({ ...manifest, config: { ...manifest.config, ...configDesc }, layers: [...manifest.layers, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerDesc }] }));
  const reference = `${IMAGE}-${suffix}`;
  index.manifests = [...index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== reference), { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': reference } }];
  writeFileSync(join(STORE, 'index.json.tmp'), JSON.stringify(index));
  renameSync(join(STORE, 'index.json.tmp'), join(STORE, 'index.json'));
  return reference;
}

// Restricted-compliant: the app container's own uid; the sidecar gets none, so the image's applies.
const restrictedApp = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: APPS_NS, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1h' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'app',
          image: 'node:24',
          command: ['node', resolve(REPO, 'test/fixtures/http-app.ts'), '--port', '8080', '--name', name],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
          securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        }],
      },
    },
  },
});

onCluster('the Lull image on the local cluster', () => {
  let installed: Installed | undefined;
  let webhookPid = 0;

  beforeAll(async () => {
    if (!existsSync(join(STORE, 'index.json'))) throw new Error(`no image store at ${STORE}: cluster up builds and registers the image (scripts/build-image.sh needs mmdebstrap, umoci and skopeo)`);
    installed = await installIsolated(kubectl, { namespace: LULL_NS, suffix: `-e2e-${ID}`, selector: SCOPE }, resolve(REPO, '.lull', 'e2e-image', `lull-${ID}.yaml`));
    await createNamespace(kubectl, APPS_NS, { [SCOPE.key]: SCOPE.value, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' });
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', APPS_NS, '--wait=false', '--ignore-not-found']).catch(() => undefined);
    await installed?.uninstall();
  });

  it('runs every part of deploy/ from the image: its rootfs, its non-root user, its entrypoint', async () => {
    const ready = (pod: any) => pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
    const pods = await waitFor('every part ready', async () => {
      const all = (JSON.parse(await kubectl(['get', 'pods', '-n', LULL_NS, '-o', 'json'])).items as any[]).filter((p) => !p.metadata.deletionTimestamp);
      return all.length >= 6 && all.every(ready) ? all : undefined;
    }, 180_000, 500);
    const parts = new Set<string>();
    for (const pod of pods) {
      expect(pod.spec.containers[0].image).toBe(IMAGE);
      const pid = pidOf(pod.status.containerStatuses[0]);
      expect(pid, pod.metadata.name).toBeDefined();
      const facts = processFacts(pid!);
      const part = pod.spec.containers[0].args[0] as string;
      parts.add(part);
      expect({ pod: pod.metadata.name, uid: facts.uid, gid: facts.gid, noNewPrivs: facts.noNewPrivs, argv: facts.argv.slice(0, 3) })
        .toEqual({ pod: pod.metadata.name, uid: 65532, gid: 65532, noNewPrivs: '1', argv: ['node', 'dist/lull.mjs', part] });
      // Its root is the image's: the bundle and Node are there, the checkout (and its node_modules) is not.
      expect(existsSync(facts.root('/app/dist/lull.mjs'))).toBe(true);
      expect(existsSync(facts.root('/usr/local/bin/node'))).toBe(true);
      expect(existsSync(facts.root(`${REPO}/package.json`))).toBe(false);
      if (part === 'webhook') webhookPid = pid!;
    }
    expect([...parts].sort()).toEqual(['interceptor', 'reconciler', 'webhook']);
  });

  it('is the layout the Dockerfile declares: paths, user, entrypoint, env, labels; production dependencies only', async () => {
    const declared = dockerfileFinalStage(readFileSync(resolve(REPO, 'Dockerfile'), 'utf8'));
    const image = (await findImage([STORE], IMAGE))!;
    const env = Object.fromEntries((image.config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    expect({ workdir: image.config.WorkingDir, user: image.config.User, entrypoint: image.config.Entrypoint })
      .toEqual({ workdir: declared.workdir, user: declared.user, entrypoint: declared.entrypoint });
    expect(env).toMatchObject(declared.env);
    expect((image.config as { Labels?: Record<string, string> }).Labels).toEqual(declared.labels);
    expect(declared.labels['org.opencontainers.image.version']).toBe(VERSION);

    const root = processFacts(webhookPid).root;
    expect(declared.copies.sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    expect(readdirSync(root('/app')).sort()).toEqual(declared.copies.map((c) => c.slice('/app/'.length)));
    expect(readdirSync(root('/app/dist')).sort()).toEqual(readdirSync(resolve(REPO, 'dist')).sort());
    const production = productionPackages();
    expect(production).not.toContain('rolldown');
    expect(readdirSync(root('/app/node_modules')).filter((n) => !n.startsWith('.')).sort()).toEqual(production);
  });

  it('injects a sidecar that runs from the image as its non-root user, admitted under Pod Security restricted', async () => {
    // The namespace enforces `restricted`: a pod that is not is refused, so the admission below means something.
    const refused = await kubectl.run(['run', 'rooty', '-n', APPS_NS, '--image=node:24', '--restart=Never', '--command', '--', 'node', '-e', '1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest"/);

    await kubectl(['apply', '-f', '-'], JSON.stringify(restrictedApp('web')));
    const pod = await waitFor('web injected, its pod ready', async () => {
      const items = JSON.parse(await kubectl(['get', 'pods', '-n', APPS_NS, '-l', 'app=web', '-o', 'json'])).items as any[];
      return items.find((p) => p.spec.initContainers?.some((c: any) => c.name === 'lull-sidecar') && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 180_000, 500);
    const sidecar = pod.spec.initContainers.find((c: any) => c.name === 'lull-sidecar');
    expect(sidecar.image).toBe(IMAGE);
    expect(sidecar.securityContext.runAsUser).toBeUndefined();
    const facts = processFacts(pidOf(pod.status.initContainerStatuses.find((s: any) => s.name === 'lull-sidecar'))!);
    expect({ uid: facts.uid, gid: facts.gid, noNewPrivs: facts.noNewPrivs, argv: facts.argv.slice(0, 3) }).toEqual({ uid: 65532, gid: 65532, noNewPrivs: '1', argv: ['node', 'dist/lull.mjs', 'sidecar'] });
    // It fronts the app: a request on its port reaches the app.
    const port = sidecar.ports.find((p: any) => p.name === 'lull-8080').containerPort;
    const reply = await waitFor('web through its sidecar', () => get(`http://${pod.status.podIP}:${port}/`).then((r) => (r.status === 200 ? r : undefined)), 30_000, 200);
    expect(reply.body).toContain('hello from web');
  });

  it('fails with a clear log when a production dependency is missing from the image', async () => {
    const broken = await registerVariantWithout('/app/node_modules/@kubernetes', 'without-client');
    const pod = (image: string, name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: LULL_NS },
      // Lull's namespace enforces Pod Security `restricted`, as deploy/ labels it.
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'lull-webhook',
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'lull', image, args: ['status', '-A'], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      },
    });
    await kubectl(['apply', '-f', '-'], [pod(broken, 'without-client'), pod(IMAGE, 'with-client')].map((p) => JSON.stringify(p)).join('\n'));
    const finished = (name: string) => waitFor(`${name} finished`, async () => {
      const p = JSON.parse(await kubectl(['get', 'pod', name, '-n', LULL_NS, '-o', 'json']));
      return p.status?.containerStatuses?.[0]?.state?.terminated as { exitCode: number; reason?: string; message?: string } | undefined;
    }, 120_000, 250);
    const [without, withClient] = await Promise.all([finished('without-client'), finished('with-client')]);
    expect(without.exitCode).not.toBe(0);
    // It ran (its log says why it failed), rather than failing to start.
    expect(without.reason, JSON.stringify(without)).toBe('Error');
    // The process kubelet has no log endpoint: its container logs are files (what `lull cluster logs` prints).
    const log = (name: string) => readFileSync(join(clusterFiles(clusterLayout()).podLogs, `${LULL_NS}_${name}`, 'lull.log'), 'utf8');
    expect(log('without-client')).toMatch(/Cannot find package '@kubernetes\/client-node'/);
    // The same command in the real image gets as far as the API (it may not list everything: its RBAC is the webhook's).
    expect(log('with-client')).not.toMatch(/Cannot find package/);
    expect(withClient).toBeDefined();
  });
});
