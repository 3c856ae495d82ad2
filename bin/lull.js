#!/usr/bin/env node
// `lull` as npm installs it (npx lull, npm install -g): plain JavaScript that any Node can start. It runs
// bin/lull-dev.ts (the product's commands and `lull cluster|demo`) on Node 24 or later, re-executed on
// the pinned Node 24 of node_modules when this one is older.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const NEEDED_MAJOR = 24;
const entry = fileURLToPath(new URL('./lull-dev.ts', import.meta.url));

if (Number(process.versions.node.split('.')[0]) >= NEEDED_MAJOR) {
  await import(entry);
} else {
  let pinned;
  try {
    pinned = createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(`lull needs Node.js ${NEEDED_MAJOR} or later (this is ${process.version}); install it, or run npm ci in the Lull checkout for the pinned one\n`);
    process.exit(1);
  }
  const child = spawn(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  // A signal sent to this process alone (not its group) still reaches lull.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`lull: cannot run ${pinned}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)));
}
