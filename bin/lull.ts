#!/usr/bin/env node
// One binary, one subcommand per part: each part's main.ts exports `main(argv)`.
const commands: Record<string, { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number | void> }> }> = {
  cluster: { summary: 'run the local control plane (up|down|status|logs)', load: () => import('../test/cluster/cli.ts') },
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
