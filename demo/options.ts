// `lull demo` flags, parsed and checked (pure).
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';

export interface DemoOptions {
  idleAfter: string;
  idleAfterMs: number;
  namespace: string;
  /** A kustomization directory or a manifest file to install Lull from. */
  install: string;
  down: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run demo [-- flags]   (or: lull demo [flags])

Starts the local cluster (or reuses it), installs Lull from deploy/, deploys a sample app that
opts in with lull.dev/enabled=true, and narrates it serving, going to sleep when idle, and waking
on the next request. The cluster stays up afterwards, with commands to try it yourself.

  --idle-after <duration>   the sample app's lull.dev/idle-after (20s)
  --namespace <ns>          the sample app's namespace (lull-demo)
  --install <dir|file>      install Lull from this kustomization or manifest file (deploy/)
  --down                    take the cluster down at the end (only if the demo started it)
`;

export function parseDemoOptions(argv: string[], defaultInstall: string): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        'idle-after': { type: 'string', default: '20s' },
        namespace: { type: 'string', default: 'lull-demo' },
        install: { type: 'string', default: defaultInstall },
        down: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw lullError(errors.cliUsage, `lull demo: ${(err as Error).message}; see lull demo --help`);
  }
  const idleAfterMs = parseDuration(values['idle-after']);
  if (idleAfterMs === undefined || idleAfterMs < 1000 || idleAfterMs > 3_600_000) {
    throw lullError(errors.invalidConfig, '--idle-after', values['idle-after'], 'a duration from 1s to 1h, such as 20s');
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(values.namespace) || values.namespace.length > 63) {
    throw lullError(errors.invalidConfig, '--namespace', values.namespace, 'a namespace name such as lull-demo');
  }
  return { idleAfter: values['idle-after'], idleAfterMs, namespace: values.namespace, install: values.install, down: values.down, help: values.help };
}
