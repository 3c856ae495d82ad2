// bin/lull.js, what npx and a global install run: on the machine's Node (older than 24 here) it
// re-executes lull on the pinned Node 24; on Node 24 it runs lull directly. Both print the same.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const LAUNCHER = resolve(ROOT, 'bin/lull.js');
const manifest = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const { version } = manifest;
// The PATH's own node, not npm's node_modules/.bin one: what a user's shell finds.
const machineNode = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => dir !== '' && !dir.includes('node_modules'))
  .map((dir) => join(dir, 'node'))
  .find((file) => existsSync(file));
const nodes = [process.execPath, ...(machineNode ? [machineNode] : [])];

describe('bin/lull.js', () => {
  it.each(nodes)('prints the version and the injected sidecar image under %s', (node) => {
    expect(manifest.bin.lull).toBe('bin/lull.js');
    expect(execFileSync(node, [LAUNCHER, '--version'], { encoding: 'utf8' })).toBe(`lull ${version} (sidecar image ghcr.io/lull-dev/lull:${version})\n`);
  });

  it('passes arguments and the exit code through', () => {
    const node = machineNode ?? process.execPath;
    let status = 0;
    let stderr = '';
    try {
      execFileSync(node, [LAUNCHER, 'nonsense'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      ({ status, stderr } = err as { status: number; stderr: string });
    }
    expect(status).toBe(2);
    expect(stderr).toContain('lull: unknown command "nonsense"');
  });
});
