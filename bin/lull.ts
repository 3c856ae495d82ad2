#!/usr/bin/env node
// One binary, one subcommand per part: each part's main.ts exports `main(argv)`.
const commands: Record<string, { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }> }> = {
  cluster: { summary: 'run the local control plane (up|down|status|logs)', load: () => import('../test/cluster/cli.ts') },
  sidecar: { summary: 'front an app in its pod: forward, record activity, probe, drain', load: () => import('../sidecar/main.ts') },
  webhook: { summary: 'admission webhook: inject the sidecar, route Services, validate annotations', load: () => import('../webhook/main.ts') },
  reconciler: { summary: 'one leader: onboard apps, put idle ones to sleep, route them to the interceptor', load: () => import('../reconciler/main.ts') },
  interceptor: { summary: 'hold connections for sleeping apps, wake them, forward once ready', load: () => import('../interceptor/main.ts') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: lull <command> [args]\n\ncommands:\n${lines.join('\n')}\n`;
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
  process.stdout.write(usage());
  process.exit(name === undefined ? 2 : 0);
}
const command = commands[name];
if (command === undefined) {
  process.stderr.write(`lull: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  process.exit(2);
}
const { main } = await command.load();
const code = await main(rest);
if (typeof code === 'number') process.exitCode = code;
