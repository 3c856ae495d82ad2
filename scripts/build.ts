// Builds dist/lull.mjs: the `lull` binary as plain JavaScript, each subcommand a chunk loaded on demand.
// A waking pod runs the sidecar from it: no type stripping and no walk of our module graph at start.
// The sidecar is its own build (dist/sidecar.mjs, one file until the wake is over: its metrics and
// logging load later). npm packages stay external (node_modules), loaded as they are.
// Skipped when dist/ is newer than every source.
//   node scripts/build.ts [--force]
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'rolldown';

const ROOT = resolve(import.meta.dirname, '..');
export const ARTEFACT = join(ROOT, 'dist/lull.mjs');
/** The files the last build read (written beside it), and what decides how it is built. */
const SOURCES_FILE = join(ROOT, 'dist/sources.json');
const ALWAYS = ['package.json', 'scripts/build.ts'];

/** Up to date when every file the last build read (any new import edits one of them) is older than it. */
export function upToDate(): boolean {
  const built = statSync(ARTEFACT, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built === 0) return false;
  let sources: string[];
  try {
    sources = [...ALWAYS, ...(JSON.parse(readFileSync(SOURCES_FILE, 'utf8')) as string[])];
  } catch {
    return false;
  }
  return sources.every((s) => (statSync(join(ROOT, s), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < built);
}

const BUILTIN_PREFIX = '\0builtin:';

/**
 * Node builtins through process.getBuiltinModule rather than ESM import: importing node:http as ESM
 * evaluates every export, its lazy WebSocket getters included, which loads undici (tens of ms at start).
 * Only plain (non-getter) exports are offered; importing a getter fails the build.
 */
export function builtins(): Plugin {
  return {
    name: 'lull-builtins',
    resolveId(id) {
      return isBuiltin(id) ? { id: `${BUILTIN_PREFIX}${id.startsWith('node:') ? id : `node:${id}`}`, moduleSideEffects: false } : null;
    },
    load(id) {
      if (!id.startsWith(BUILTIN_PREFIX)) return null;
      const name = id.slice(BUILTIN_PREFIX.length);
      const exports = process.getBuiltinModule(name) as Record<string, unknown>;
      const names = Object.entries(Object.getOwnPropertyDescriptors(exports))
        .filter(([key, d]) => 'value' in d && /^[A-Za-z_$][\w$]*$/.test(key) && key !== 'default')
        .map(([key]) => key);
      const lines = [`const m = process.getBuiltinModule(${JSON.stringify(name)});`, 'export default m;'];
      // Pure, so an export nobody imports leaves not even a property read behind.
      for (const key of names) lines.push(`export const ${key} = /* @__PURE__ */ (() => m.${key})();`);
      return lines.join('\n');
    },
  };
}

const SIDECAR_MAIN = join(ROOT, 'sidecar/main.ts');

/** `lull sidecar` loads the sidecar's own build rather than a chunk of this one. */
function sidecarApart(): Plugin {
  return {
    name: 'lull-sidecar-apart',
    resolveId(id, importer) {
      return importer !== undefined && resolve(importer, '..', id) === SIDECAR_MAIN ? { id: './sidecar.mjs', external: true } : null;
    },
  };
}

/** Built aside and swapped in, so pods starting meanwhile (a running local cluster) never see half a dist/. */
export async function buildArtefact(): Promise<void> {
  const dist = join(ROOT, 'dist');
  const next = join(ROOT, `.dist-${process.pid}`);
  const old = join(ROOT, `.dist-old-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  try {
    const sources = new Set([...(await bundle(next, { lull: join(ROOT, 'bin/lull.ts') }, [sidecarApart()])), ...(await bundle(next, { sidecar: SIDECAR_MAIN }, []))]);
    writeFileSync(join(next, 'sources.json'), `${JSON.stringify([...sources].sort(), null, 1)}\n`);
    if (statSync(dist, { throwIfNoEntry: false }) !== undefined) renameSync(dist, old);
    renameSync(next, dist);
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

/** Returns the repository files it read. */
async function bundle(dist: string, input: Record<string, string>, plugins: Plugin[]): Promise<string[]> {
  const output = await build({
    cwd: ROOT,
    input,
    platform: 'node',
    // Other bare specifiers are npm packages: left to Node's resolver.
    external: (id) => !isBuiltin(id) && !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    plugins: [...plugins, builtins()],
    logLevel: 'warn',
    output: {
      dir: dist,
      format: 'esm',
      // Chunks beside the entry, so `new URL('../package.json', import.meta.url)` still finds the repository's.
      entryFileNames: '[name].mjs',
      chunkFileNames: '[name]-[hash].mjs',
      sourcemap: true,
      comments: { legal: true, annotation: false, jsdoc: false },
      // Node decodes pure-ASCII sources on a fast path.
      charset: 'ascii',
    },
  });
  const read = output.output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : []));
  return read.filter((id) => id.startsWith(`${ROOT}/`)).map((id) => relative(ROOT, id));
}

if (import.meta.main) {
  const force = process.argv.includes('--force');
  if (!force && upToDate()) process.exit(0);
  const started = performance.now();
  await buildArtefact();
  process.stderr.write(`built dist/lull.mjs in ${Math.round(performance.now() - started)} ms\n`);
}
