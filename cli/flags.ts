// The flags every CLI command shares with kubectl (-n, -A, -o, --kubeconfig, --context), parsed once.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';

export const COMMON_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_USAGE = `  -n, --namespace <ns>      the namespace (the context's, else default)
      --kubeconfig <file>   kubeconfig to use (else $KUBECONFIG, else ~/.kube/config, else in-cluster)
      --context <name>      kubeconfig context to use (else its current-context)`;

/** Pure: parseArgs whose mistakes come back as a usage error naming the command. */
export function parseFlags<O extends ParseArgsConfig['options']>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw lullError(errors.cliUsage, `lull ${command}: ${(err as Error).message}; see lull ${command} --help`);
  }
}

/** A --timeout style flag in milliseconds. */
export function durationFlag(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw lullError(errors.invalidConfig, flag, value, 'a duration such as 30s or 2m');
  return ms;
}
