import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findImage, matchEntry, normalizeReference } from '../../cluster/kubelet/image-store.ts';
import { layerCompression } from '../../cluster/kubelet/rootfs.ts';
import { containerIdentity, imageArgv, imageCommandLine, imageEnv, resolveInImage } from '../../cluster/kubelet/run-in-image.ts';

const LULL = { User: '65532:65532', Env: ['PATH=/usr/local/bin:/usr/bin', 'NODE_ENV=production'], Entrypoint: ['node', 'dist/lull.mjs'], WorkingDir: '/app' };
const ETC = { passwd: 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\nweb:x:33:34::/var/www:/bin/false\n', group: 'root:x:0:\nnonroot:x:65532:\nwww:x:34:\n' };

describe('image references', () => {
  it('spells an image as runtimes compare it', () => {
    expect(normalizeReference('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeReference('python:3.12')).toBe('docker.io/library/python:3.12');
    expect(normalizeReference('me/app')).toBe('docker.io/me/app:latest');
    expect(normalizeReference('ghcr.io/lull-dev/lull:0.1.0')).toBe('ghcr.io/lull-dev/lull:0.1.0');
    expect(normalizeReference('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeReference('ghcr.io/lull-dev/lull@sha256:ab')).toBe('ghcr.io/lull-dev/lull@sha256:ab');
  });

  it('finds a stored image by tag or by its digest, never by another tag', () => {
    const entries = [{ digest: 'sha256:aa', annotations: { 'org.opencontainers.image.ref.name': 'ghcr.io/lull-dev/lull:0.1.0' } }];
    expect(matchEntry(entries, 'ghcr.io/lull-dev/lull:0.1.0')?.digest).toBe('sha256:aa');
    expect(matchEntry(entries, 'ghcr.io/lull-dev/lull@sha256:aa')?.digest).toBe('sha256:aa');
    expect(matchEntry(entries, 'ghcr.io/lull-dev/lull')).toBeUndefined();
    expect(matchEntry(entries, 'ghcr.io/lull-dev/lull:0.2.0')).toBeUndefined();
    expect(matchEntry(entries, 'ghcr.io/other/lull@sha256:aa')).toBeUndefined();
  });

  it('reads manifest and config from an OCI layout, and skips layouts that do not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lull-store-'));
    const blob = (hex: string, body: unknown) => writeFileSync(join(dir, 'blobs/sha256', hex), JSON.stringify(body));
    mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
    blob('c0', { config: LULL });
    blob('a1', { config: { digest: 'sha256:c0' }, layers: [{ digest: 'sha256:1a', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }] });
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:a1', annotations: { 'org.opencontainers.image.ref.name': 'ghcr.io/lull-dev/lull:0.1.0' } }] }));
    const image = await findImage([join(dir, 'absent'), dir], 'ghcr.io/lull-dev/lull:0.1.0');
    expect(image?.config.Entrypoint).toEqual(['node', 'dist/lull.mjs']);
    expect(image?.layers).toEqual([{ digest: 'sha256:1a', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', path: join(dir, 'blobs/sha256/1a') }]);
    expect(await findImage([dir], 'python:3.12')).toBeUndefined();
  });

  it('unpacks gzip, zstd and plain layers and names any other media type', () => {
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(layerCompression('application/x-foo')).toEqual({ error: 'layer media type "application/x-foo" is not supported by the test kubelet' });
  });
});

describe('who a container runs as', () => {
  it("takes the image's numeric user", () => {
    expect(containerIdentity(LULL, {}, undefined, ETC)).toEqual({ uid: 65532, gid: 65532, home: '/home/nonroot' });
  });

  it('lets runAsUser/runAsGroup win, the container over the pod', () => {
    expect(containerIdentity(LULL, { securityContext: { runAsUser: 1000 } }, { runAsUser: 2000, runAsGroup: 3000 }, ETC)).toEqual({ uid: 1000, gid: 3000, home: '/' });
  });

  it('resolves a user name and a group name through the image', () => {
    expect(containerIdentity({ User: 'web:www' }, {}, undefined, ETC)).toEqual({ uid: 33, gid: 34, home: '/var/www' });
    expect(containerIdentity({ User: 'web' }, {}, undefined, ETC)).toEqual({ uid: 33, gid: 34, home: '/var/www' });
  });

  it('refuses root and unverifiable users under runAsNonRoot, with the kubelet’s messages', () => {
    expect(containerIdentity({}, { securityContext: { runAsNonRoot: true } }, undefined, ETC)).toEqual({ error: 'container has runAsNonRoot and image will run as root' });
    expect(containerIdentity({ User: 'web' }, {}, { runAsNonRoot: true }, ETC)).toEqual({ error: 'container has runAsNonRoot and image has non-numeric user (web), cannot verify user is non-root' });
    expect(containerIdentity(LULL, { securityContext: { runAsNonRoot: true } }, undefined, ETC)).toEqual({ uid: 65532, gid: 65532, home: '/home/nonroot' });
    expect(containerIdentity({ User: 'nobody' }, {}, undefined, ETC)).toEqual({ error: 'unable to find user nobody: no matching entries in passwd file' });
  });
});

describe('argv and environment', () => {
  it('follows Kubernetes: args replace cmd, command replaces entrypoint and cmd', () => {
    expect(imageArgv({ ...LULL, Cmd: ['--help'] }, {})).toEqual(['node', 'dist/lull.mjs', '--help']);
    expect(imageArgv({ ...LULL, Cmd: ['--help'] }, { args: ['sidecar'] })).toEqual(['node', 'dist/lull.mjs', 'sidecar']);
    expect(imageArgv({ ...LULL, Cmd: ['--help'] }, { command: ['node', '-e', '1'] })).toEqual(['node', '-e', '1']);
    expect(imageArgv({}, {})).toEqual({ error: 'no command specified: the image has no entrypoint or cmd and the container no command' });
  });

  it("starts from the image's env; the container's wins", () => {
    expect(imageEnv(LULL, { PATH: '/bin', HOME: '/' }, { NODE_ENV: 'development', X: '1' })).toEqual({ PATH: '/usr/local/bin:/usr/bin', NODE_ENV: 'development', HOME: '/', X: '1' });
  });
});

describe('mounting into the rootfs', () => {
  const links: Record<string, string> = { '/var/run': '/run', '/etc/alt': '../usr/etc', '/loop': '/loop' };
  const tree = { readlink: (p: string) => links[p] };

  it('resolves symlinks inside the image, so a mount never lands on the host', () => {
    expect(resolveInImage('/var/run/secrets/kubernetes.io/serviceaccount', tree)).toBe('/run/secrets/kubernetes.io/serviceaccount');
    expect(resolveInImage('/etc/alt/hosts', tree)).toBe('/usr/etc/hosts');
    expect(resolveInImage('/../../etc/hosts', tree)).toBe('/etc/hosts');
    expect(() => resolveInImage('/loop/x', tree)).toThrow(/too many levels of symbolic links/);
  });

  it('passes paths as arguments, not as script text', () => {
    const line = imageCommandLine('lull-ab', { lowerDirs: ['/l/2', '/l/1'], containerDir: '/pods/u/containers/c', uid: 65532, gid: 65532, workingDir: '/app', readOnlyRootFilesystem: true, noNewPrivileges: true, mounts: [{ source: "/v/it's", target: '/data', readOnly: true }] }, ['node', 'dist/lull.mjs']);
    expect(line.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'lull-ab', 'sh']);
    expect(line.slice(7)).toEqual(['lull-container', '/pods/u/containers/c/rootfs', '/l/2:/l/1', '/pods/u/containers/c/upper', '/pods/u/containers/c/work', '/app', '65532', '65532', 'ro', 'nnp', "/v/it's", '/data', 'ro', '--', 'node', 'dist/lull.mjs']);
  });
});
