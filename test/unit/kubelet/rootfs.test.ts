// Layer unpacking with the real tar (as the kubelet runs it): GNU tar's own archives, which end
// themselves, and Go's (umoci), which may not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { lowerDirs } from '../../cluster/kubelet/rootfs.ts';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

function layer(dir: string, name: string, files: Record<string, string>, trimEnd = false, padding = 0): { digest: string; mediaType: string; path: string } {
  const src = join(dir, `${name}-src`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(src, path, '..'), { recursive: true });
    writeFileSync(join(src, path), content);
  }
  let tar = execFileSync('tar', ['--create', '--file', '-', '--directory', src, '.']);
  // Go's archive/tar may end without the two zero blocks: strip every trailing zero block.
  if (trimEnd) { let end = tar.length; while (end >= 512 && tar.subarray(end - 512, end).every((b) => b === 0)) end -= 512; tar = tar.subarray(0, end); }
  // Zeros after the end of the archive: tar stops reading at its end, and must not fail the unpack.
  if (padding > 0) tar = Buffer.concat([tar, Buffer.alloc(padding)]);
  const path = join(dir, `${name}.tar.gz`);
  writeFileSync(path, gzipSync(tar));
  expect(gunzipSync(readFileSync(path)).length).toBe(tar.length);
  return { digest: `sha256:${name.padEnd(8, '0')}`, mediaType: GZIP, path };
}

describe('unpacking layers', () => {
  it('unpacks archives with and without their end blocks, top layer first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lull-layers-'));
    const base = layer(dir, 'aaaa', { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'app/x': 'old' }, true);
    const top = layer(dir, 'bbbb', { 'app/x': 'new' }, false, 4 << 20);
    const dirs = await lowerDirs([base, top], join(dir, 'cache'));
    expect(dirs).toEqual([join(dir, 'cache', 'sha256-bbbb0000'), join(dir, 'cache', 'sha256-aaaa0000')]);
    expect(readFileSync(join(dirs[0]!, 'app/x'), 'utf8')).toBe('new');
    expect(readFileSync(join(dirs[1]!, 'etc/passwd'), 'utf8')).toMatch(/^root/);
    // Unpacked once: a second pod reuses the directory.
    const before = statSync(dirs[0]!).mtimeMs;
    await lowerDirs([base, top], join(dir, 'cache'));
    expect(statSync(dirs[0]!).mtimeMs).toBe(before);
  });

  it.runIf(process.getuid?.() === 0)('turns OCI whiteouts into overlayfs whiteouts (needs root for mknod)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lull-layers-'));
    const top = layer(dir, 'cccc', { 'app/node_modules/.wh.left-pad': '' });
    const [unpacked] = await lowerDirs([top], join(dir, 'cache'));
    const whiteout = statSync(join(unpacked!, 'app/node_modules/left-pad'));
    expect({ char: whiteout.isCharacterDevice(), rdev: whiteout.rdev }).toEqual({ char: true, rdev: 0 });
  });
});
