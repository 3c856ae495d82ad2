// The process kubelet runs host programs, not images: an image given no `command` maps to an
// entrypoint here, the way an image's ENTRYPOINT would. The Lull image runs the built artefact, as the
// real image does (Dockerfile), so a waking pod here starts the way it does in production.
import { existsSync } from 'node:fs';

export interface ImageContext {
  repoRoot: string;
  nodeBinary: string;
  /** Whether a file exists (tests replace it). */
  exists?: (path: string) => boolean;
}

type Entrypoint = (ctx: ImageContext) => string[] | { error: string };

const LULL_ARTEFACT = 'dist/lull.mjs';

function lull(ctx: ImageContext): string[] | { error: string } {
  const artefact = `${ctx.repoRoot}/${LULL_ARTEFACT}`;
  if (!(ctx.exists ?? existsSync)(artefact)) {
    return { error: `the Lull image runs ${artefact}, which is missing: build it with \`node scripts/build.ts\` (lull cluster up, npm test and the demo do)` };
  }
  return [ctx.nodeBinary, artefact];
}

const TABLE: ReadonlyMap<string, Entrypoint> = new Map<string, Entrypoint>([
  ['ghcr.io/lull-dev/lull', lull],
  ['lull', lull],
  ['node', (ctx) => [ctx.nodeBinary]],
  ['python', () => ['python3']],
  ['registry.k8s.io/pause', () => ['sleep', 'infinity']],
  ['busybox', () => ['sh']],
]);

/** The image name without registry default, tag or digest: "docker.io/library/python:3.12" → "python". */
export function imageName(image: string): string {
  let name = image.split('@', 1)[0]!;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon);
  return name.replace(/^docker\.io\/(library\/)?/, '');
}

export function knownImages(): string[] {
  return [...TABLE.keys()];
}

/** argv for a container: its command and args, or the image's entrypoint followed by args. */
export function containerArgv(
  container: { image?: string; command?: string[]; args?: string[] },
  ctx: ImageContext,
): string[] | { error: string } {
  const args = container.args ?? [];
  if (container.command !== undefined && container.command.length > 0) {
    const [program, ...rest] = container.command;
    // "node" means the pinned Node 24, never whatever node the host has on its PATH.
    return [program === 'node' ? ctx.nodeBinary : program!, ...rest, ...args];
  }
  const entry = TABLE.get(imageName(container.image ?? ''));
  if (entry === undefined) {
    return { error: `image ${JSON.stringify(container.image)} has no entrypoint in the test kubelet's table (known: ${knownImages().join(', ')}); give the container a command` };
  }
  const argv = entry(ctx);
  return 'error' in argv ? argv : [...argv, ...args];
}
