// Which Deployment a command names: `deploy/NAME` or `deploy NAME`, as kubectl spells it.
import { errors, lullError } from '../core/errors.ts';

const KINDS = new Set(['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps']);

/** Pure: the Deployment's name from the command's positionals. */
export function parseTarget(command: string, positionals: readonly string[]): string {
  const [first, second, ...rest] = positionals;
  const usage = `usage: lull ${command} deploy/NAME [-n NAMESPACE]`;
  if (first === undefined) throw lullError(errors.cliUsage, `lull ${command} needs a Deployment; ${usage}`);
  let kind: string;
  let name: string | undefined;
  if (first.includes('/')) {
    [kind, name] = [first.slice(0, first.indexOf('/')), first.slice(first.indexOf('/') + 1)];
    if (second !== undefined) throw lullError(errors.cliUsage, `unexpected argument ${JSON.stringify(second)}; ${usage}`);
  } else if (KINDS.has(first)) {
    [kind, name] = [first, second];
    if (rest.length > 0) throw lullError(errors.cliUsage, `unexpected argument ${JSON.stringify(rest[0])}; ${usage}`);
  } else {
    throw lullError(errors.cliUsage, `${JSON.stringify(first)} is not a Deployment reference; ${usage}`);
  }
  if (!KINDS.has(kind)) throw lullError(errors.cliUsage, `Lull manages Deployments, not ${JSON.stringify(kind)}; ${usage}`);
  if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw lullError(errors.cliUsage, `${JSON.stringify(name ?? '')} is not a Deployment name; ${usage}`);
  return name;
}
