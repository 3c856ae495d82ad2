// An image's rootfs as overlayfs lower directories: each layer unpacked once into a cache keyed by its
// digest (shared by every image and pod that has it), so a new app layer is all a rebuild unpacks.
// Containers get their own writable upper directory on top (run-in-image.ts).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { run } from '../exec.ts';
import type { Layer } from './image-store.ts';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** A layer's compression, from its media type. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' | { error: string } {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('layer.v1.tar')) return 'none';
  return { error: `layer media type ${JSON.stringify(mediaType)} is not supported by the test kubelet` };
}

// Go's archive/tar (umoci, many registries' layers) may end a layer without tar's two zero blocks,
// which GNU tar reports as an error: they are added after the stream.
const END_OF_ARCHIVE = Buffer.alloc(1024);

async function extract(path: string, compression: 'gzip' | 'zstd' | 'none', dir: string): Promise<void> {
  const tar = spawn('tar', ['--extract', '--file', '-', '--directory', dir, '--numeric-owner', '--same-permissions', '--same-owner', '--no-overwrite-dir'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((done, fail) => { tar.once('error', fail); tar.once('close', done); });
  const source = createReadStream(path);
  const stages = compression === 'gzip' ? [createGunzip()] : compression === 'zstd' ? [createZstdDecompress()] : [];
  const fed = (pipeline as (...s: unknown[]) => Promise<void>)(source, ...stages, async function* (chunks: AsyncIterable<Buffer>) {
    yield* chunks;
    yield END_OF_ARCHIVE;
  }, tar.stdin).catch((err: unknown) => err);
  const [code, feedError] = await Promise.all([exited, fed]);
  if (code !== 0) throw new Error(`tar exited ${code} unpacking ${path}: ${stderr.trim()}`);
  // A layer with its own end of archive: tar stops reading there and closes its input on what follows.
  const closedEarly = (feedError as NodeJS.ErrnoException | undefined)?.code;
  if (feedError !== undefined && closedEarly !== 'EPIPE' && closedEarly !== 'ERR_STREAM_PREMATURE_CLOSE') throw feedError;
}

/** OCI whiteouts (`.wh.name`) become overlayfs whiteouts (a 0/0 character device) in the unpacked layer. */
async function convertWhiteouts(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === OPAQUE) throw new Error(`opaque whiteouts (${path}) are not supported by the test kubelet`);
    if (entry.name.startsWith(WHITEOUT)) {
      await unlink(path);
      await run('mknod', [join(dir, entry.name.slice(WHITEOUT.length)), 'c', '0', '0']);
    } else if (entry.isDirectory()) {
      await convertWhiteouts(path);
    }
  }
}

async function unpackLayer(layer: Layer, cacheDir: string): Promise<string> {
  const target = join(cacheDir, layer.digest.replace(':', '-'));
  if (existsSync(target)) return target;
  const compression = layerCompression(layer.mediaType);
  if (typeof compression === 'object') throw new Error(compression.error);
  // Unpacked aside and renamed, so a half-unpacked layer is never used (also by a kubelet that crashed meanwhile).
  const tmp = join(cacheDir, `.unpack-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await extract(layer.path, compression, tmp);
    await convertWhiteouts(tmp);
    await rename(tmp, target).catch((err: NodeJS.ErrnoException) => {
      // Another kubelet (or pod) unpacked it first: theirs is as good.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

const unpacking = new Map<string, Promise<string>>();

/** The image's layers unpacked, top layer first (overlayfs' lowerdir order). */
export async function lowerDirs(layers: readonly Layer[], cacheDir: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const layer of layers) {
    let pending = unpacking.get(layer.digest);
    if (pending === undefined) {
      pending = unpackLayer(layer, cacheDir).finally(() => unpacking.delete(layer.digest));
      unpacking.set(layer.digest, pending);
    }
    dirs.push(await pending);
  }
  return dirs.reverse();
}
