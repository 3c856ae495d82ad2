// One binary, one subcommand per part: each part's main.ts exports `main(argv)`. The table of the
// product's commands, and the dispatch shared by bin/lull.ts (the product) and bin/lull-dev.ts (a checkout).
import { existsSync, readFileSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { LULL_IMAGE_REPOSITORY } from '../core/sidecar-contract.ts';

export type Commands = Record<string, { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }> }>;

export const productCommands: Commands = {
  sidecar: { summary: 'front an app in its pod: forward, record activity, probe, drain', load: () => import('../sidecar/main.ts') },
  webhook: { summary: 'admission webhook: inject the sidecar, route Services, validate annotations', load: () => import('../webhook/main.ts') },
  reconciler: { summary: 'one leader: onboard apps, put idle ones to sleep, route them to the interceptor', load: () => import('../reconciler/main.ts') },
  interceptor: { summary: 'hold connections for sleeping apps, wake them, forward once ready', load: () => import('../interceptor/main.ts') },
  status: { summary: 'the apps Lull manages: state, replicas, idle-after, last activity, last wake', load: () => import('../cli/status.ts') },
  wake: { summary: 'wake a sleeping app now: lull wake deploy/NAME', load: () => import('../cli/wake.ts') },
  sleep: { summary: 'put an app to sleep as soon as it is idle: lull sleep deploy/NAME', load: () => import('../cli/sleep.ts') },
  teardown: { summary: 'before uninstalling Lull: wake every sleeping app and take Lull\'s routes off', load: () => import('../cli/teardown.ts') },
};

/** Commands of a checkout only (they need test/cluster), named so the product can say where they are. */
export const DEV_ONLY = ['cluster', 'demo'];

function usage(commands: Commands): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: lull <command> [args]\n       lull --version\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function dispatch(commands: Commands, argv: string[]): Promise<void> {
  // Type stripping and compiling every module again costs a cold start hundreds of ms (a waking
  // sidecar pays it on the request path); Node's compile cache keeps both across starts.
  enableCompileCache(process.env.NODE_COMPILE_CACHE);
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    // The webhook injects the sidecar image of its own version unless --sidecar-image says otherwise.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`lull ${version} (sidecar image ${LULL_IMAGE_REPOSITORY}:${version})\n`);
    process.exit(0);
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage(commands));
    process.exit(name === undefined ? 2 : 0);
  }
  const command = commands[name];
  if (command === undefined && DEV_ONLY.includes(name)) {
    // In a checkout the development entry runs it; a URL the bundler does not follow keeps it out of dist/.
    const dev = new URL('./lull-dev.ts', import.meta.url);
    if (existsSync(dev)) return void (await import(dev.href));
    process.stderr.write(`lull ${name} runs from a checkout of Lull: npm run ${name} (node bin/lull-dev.ts ${name})\n`);
    process.exit(2);
  }
  if (command === undefined) {
    process.stderr.write(`lull: unknown command ${JSON.stringify(name)}\n\n${usage(commands)}`);
    process.exit(2);
  }
  const { main } = await command.load();
  const code = await main(rest);
  if (typeof code === 'number') process.exitCode = code;
}
