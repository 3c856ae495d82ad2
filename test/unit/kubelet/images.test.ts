import { describe, expect, it } from 'vitest';
import { containerArgv, imageName } from '../../cluster/kubelet/images.ts';

const ctx = { repoRoot: '/repo', nodeBinary: '/opt/node24/bin/node', exists: (path: string) => path === '/repo/dist/lull.mjs' };

describe('image table', () => {
  it('strips registry defaults, tags and digests', () => {
    expect(imageName('docker.io/library/python:3.12')).toBe('python');
    expect(imageName('ghcr.io/lull-dev/lull:0.1.0')).toBe('ghcr.io/lull-dev/lull');
    expect(imageName('localhost:5000/app@sha256:abc')).toBe('localhost:5000/app');
    expect(imageName('localhost:5000/app')).toBe('localhost:5000/app');
  });

  it('maps the Lull image to the built artefact, with args appended', () => {
    expect(containerArgv({ image: 'ghcr.io/lull-dev/lull:0.1.0', args: ['sidecar'] }, ctx)).toEqual(['/opt/node24/bin/node', '/repo/dist/lull.mjs', 'sidecar']);
  });

  it('says how to build the artefact when it is missing', () => {
    const result = containerArgv({ image: 'ghcr.io/lull-dev/lull:0.1.0', args: ['sidecar'] }, { ...ctx, exists: () => false });
    expect((result as { error: string }).error).toMatch(/\/repo\/dist\/lull\.mjs, which is missing: build it with `node scripts\/build\.ts`/);
  });

  it('runs a given command as a host program, with "node" meaning the pinned Node', () => {
    expect(containerArgv({ image: 'anything', command: ['python3', '-m', 'http.server'], args: ['8080'] }, ctx)).toEqual(['python3', '-m', 'http.server', '8080']);
    expect(containerArgv({ image: 'anything', command: ['node', 'app.ts'] }, ctx)).toEqual(['/opt/node24/bin/node', 'app.ts']);
  });

  it('explains an image it cannot run', () => {
    const result = containerArgv({ image: 'nginx:1.27' }, ctx);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toMatch(/"nginx:1.27" has no entrypoint.*give the container a command/);
  });
});
