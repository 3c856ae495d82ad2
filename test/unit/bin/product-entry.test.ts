// The product binary (bin/lull.ts, built into dist/lull.mjs for the image) reaches no test or
// development code: the image does not carry test/, demo/ or bench/.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
// Literal specifiers only, as the bundler follows them: `from '…'`, `import('…')`, `import '…'`.
const IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g;

/** Every repository file reachable from `entry` through relative imports. */
function moduleGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) visit(resolve(dirname(file), specifier!));
  };
  visit(resolve(ROOT, entry));
  return [...seen].map((f) => relative(ROOT, f)).sort();
}

describe('the product entry', () => {
  it('imports every part and the CLI, and nothing under test/, demo/ or bench/', () => {
    const graph = moduleGraph('bin/lull.ts');
    for (const part of ['sidecar/main.ts', 'webhook/main.ts', 'reconciler/main.ts', 'interceptor/main.ts', 'cli/status.ts']) expect(graph).toContain(part);
    expect(graph.filter((f) => /^(test|demo|bench)\//.test(f))).toEqual([]);
  });

  it('the development entry adds the local cluster and the demo', () => {
    const graph = moduleGraph('bin/lull-dev.ts');
    expect(graph).toContain('test/cluster/cli.ts');
    expect(graph).toContain('demo/main.ts');
  });
});
