// What the Dockerfile's final stage declares about the image (paths, user, entrypoint, env, labels):
// the e2e test compares it with the built image, a unit test with scripts/build-image.sh.
import { join, resolve } from 'node:path';

export interface DeclaredLayout {
  workdir: string;
  user: string;
  entrypoint: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  /** Absolute paths the COPY instructions create. */
  copies: string[];
}

/** The final stage of the Dockerfile: what it declares about the image (continuations joined). */
export function dockerfileFinalStage(text: string): DeclaredLayout {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stage = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true) + 1);
  const declared: DeclaredLayout = { workdir: '/', user: '', entrypoint: [], env: {}, labels: {}, copies: [] };
  const pairs = (rest: string) => Object.fromEntries([...rest.matchAll(/([\w.]+)=("([^"]*)"|\S+)/g)].map((m) => [m[1]!, m[3] ?? m[2]!]));
  for (const line of stage) {
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    switch (instruction!.toUpperCase()) {
      case 'WORKDIR': declared.workdir = resolve(declared.workdir, rest!); break;
      case 'USER': declared.user = rest!; break;
      case 'ENTRYPOINT': declared.entrypoint = JSON.parse(rest!) as string[]; break;
      case 'ENV': Object.assign(declared.env, pairs(rest!)); break;
      case 'LABEL': Object.assign(declared.labels, pairs(rest!)); break;
      case 'COPY': {
        const args = rest!.split(/\s+/).filter((a) => !a.startsWith('--'));
        const dest = resolve(declared.workdir, args.at(-1)!);
        // `COPY a b ./` puts each source's name in the directory; `COPY dir ./x` makes x.
        if (args.at(-1)!.endsWith('/')) declared.copies.push(...args.slice(0, -1).map((s) => join(dest, s.split('/').filter(Boolean).at(-1)!)));
        else declared.copies.push(dest);
        break;
      }
    }
  }
  return declared;
}

