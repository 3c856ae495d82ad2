// Lull's own version, from the package.json beside the sources (and beside dist/ in the image).
import { readFileSync } from 'node:fs';

export const LULL_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
