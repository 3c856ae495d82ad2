// The process kubelet's local image store: OCI image layouts (what `skopeo copy … oci:<dir>:<name>` and
// scripts/build-image.sh write), whose index.json names each image by `org.opencontainers.image.ref.name`.
// A pod's image found here runs inside its rootfs (run-in-image.ts); any other image keeps the host
// mapping of images.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parts of an OCI image config the kubelet uses. */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
}

export interface Layer {
  digest: string;
  mediaType: string;
  /** The blob's path in the layout. */
  path: string;
}

export interface StoredImage {
  /** The reference as the store names it. */
  reference: string;
  manifestDigest: string;
  /** Bottom first, as in the manifest. */
  layers: Layer[];
  config: ImageConfig;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/**
 * One spelling per image, as the container runtimes compare them: "busybox" →
 * "docker.io/library/busybox:latest"; a digest stays, a missing tag is `latest`.
 */
export function normalizeReference(image: string): string {
  const at = image.indexOf('@');
  let name = at === -1 ? image : image.slice(0, at);
  const digest = at === -1 ? '' : image.slice(at);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasRegistry) name = `docker.io/${slash === -1 ? 'library/' : ''}${name}`;
  const tagged = name.lastIndexOf(':') > name.lastIndexOf('/');
  if (!tagged && digest === '') name = `${name}:latest`;
  return `${name}${digest}`;
}

/** The repository without tag or digest: "ghcr.io/lull-dev/lull:0.1.0" → "ghcr.io/lull-dev/lull". */
function repository(normalized: string): string {
  const name = normalized.split('@', 1)[0]!;
  return name.lastIndexOf(':') > name.lastIndexOf('/') ? name.slice(0, name.lastIndexOf(':')) : name;
}

/** Pure: the index entry an image reference names, by ref name, or by repository and digest. */
export function matchEntry(entries: readonly Descriptor[], image: string): Descriptor | undefined {
  const wanted = normalizeReference(image);
  const at = wanted.indexOf('@');
  if (at !== -1) {
    const digest = wanted.slice(at + 1);
    return entries.find((e) => e.digest === digest && e.annotations?.[REF_NAME] !== undefined && repository(normalizeReference(e.annotations[REF_NAME]!)) === repository(wanted));
  }
  return entries.find((e) => e.annotations?.[REF_NAME] !== undefined && normalizeReference(e.annotations[REF_NAME]!) === wanted);
}

function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex || !/^[a-f0-9]+$/.test(hex)) throw new Error(`bad digest ${JSON.stringify(digest)} in ${layout}`);
  return join(layout, 'blobs', algorithm, hex);
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** The image in the first layout that has it, or undefined; a layout that does not exist is skipped. */
export async function findImage(layouts: readonly string[], image: string): Promise<StoredImage | undefined> {
  for (const layout of layouts) {
    let index: { manifests?: Descriptor[] };
    try {
      index = await readJson(join(layout, 'index.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    let entry = matchEntry(index.manifests ?? [], image);
    if (entry === undefined) continue;
    const reference = entry.annotations![REF_NAME]!;
    if (entry.mediaType !== undefined && INDEX_TYPES.has(entry.mediaType)) {
      const nested = await readJson<{ manifests?: Descriptor[] }>(blobPath(layout, entry.digest));
      entry = (nested.manifests ?? []).find((m) => m.platform?.os === 'linux' && m.platform.architecture === (ARCH[process.arch] ?? process.arch));
      if (entry === undefined) throw new Error(`image ${reference} in ${layout} has no linux/${ARCH[process.arch] ?? process.arch} manifest`);
    }
    const manifest = await readJson<{ config: Descriptor; layers?: Descriptor[] }>(blobPath(layout, entry.digest));
    const config = await readJson<{ config?: ImageConfig }>(blobPath(layout, manifest.config.digest));
    return {
      reference,
      manifestDigest: entry.digest,
      layers: (manifest.layers ?? []).map((l) => ({ digest: l.digest, mediaType: l.mediaType ?? '', path: blobPath(layout, l.digest) })),
      config: config.config ?? {},
    };
  }
  return undefined;
}
