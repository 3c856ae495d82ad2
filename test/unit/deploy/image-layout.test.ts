// The Dockerfile and scripts/build-image.sh must build the same image: compared here from what each
// declares (fast, no build); test/e2e/image.test.ts compares the Dockerfile with the built image.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileFinalStage } from '../../e2e/support/dockerfile.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const script = readFileSync(resolve(ROOT, 'scripts/build-image.sh'), 'utf8');
const version = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The `umoci config` flags of build-image.sh, with its shell variables filled in. */
function scriptConfig() {
  const values = (name: string) => [...script.matchAll(new RegExp(`--config\\.${name}=("[^"]*"|\\S+)`, 'g'))].map((m) => m[1]!.replace(/"/g, '').replace('$version', version));
  const pairs = (name: string) => Object.fromEntries(values(name).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { user: values('user')[0], workdir: values('workingdir')[0], entrypoint: values('entrypoint'), env: pairs('env'), labels: pairs('label') };
}

describe('the image built without Docker and the Dockerfile', () => {
  const declared = dockerfileFinalStage(readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8'));
  const built = scriptConfig();

  it('declare the same user, working directory, entrypoint, env and labels', () => {
    expect({ user: built.user, workdir: built.workdir, entrypoint: built.entrypoint, labels: built.labels })
      .toEqual({ user: declared.user, workdir: declared.workdir, entrypoint: declared.entrypoint, labels: declared.labels });
    expect(built.env).toMatchObject(declared.env);
    expect(declared.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(declared.labels['org.opencontainers.image.version']).toBe(version);
  });

  it('put the same files in the same places', () => {
    expect(declared.copies.sort()).toEqual(['/app/dist', '/app/node_modules', '/app/package.json']);
    const inserted = [...script.matchAll(/^\s*insert "\$\S+" "[^"]+" (\S+) /gm)].map((m) => m[1]);
    expect(inserted).toEqual(['/', '/usr/local/bin/node', '/app/node_modules', '/app']);
    expect(script).toMatch(/cp -r dist "\$work\/app\/dist"/);
    expect(script).toMatch(/cp package.json "\$work\/app\/package.json"/);
  });
});
