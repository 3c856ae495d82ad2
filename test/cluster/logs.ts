// Which file `lull cluster logs` prints: a component's log, or a container's log written by the
// process kubelet at <podLogs>/<namespace>_<pod>/<container>.log.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { COMPONENTS } from './components.ts';
import { clusterFiles, type ClusterLayout } from './layout.ts';
import { logFilePath } from './processes.ts';

export type LogTarget = { kind: 'component'; name: string } | { kind: 'pod'; namespace: string; pod: string; container?: string };

/** `<namespace>/<pod> [container]` or `<component>`. */
export function parseLogTarget(target: string, container?: string): LogTarget {
  const slash = target.indexOf('/');
  if (slash < 0) return { kind: 'component', name: target };
  return { kind: 'pod', namespace: target.slice(0, slash), pod: target.slice(slash + 1), container };
}

/** The one log to print, or why there is none (no logs, or several and no container named). */
export function choosePodLog(logFiles: readonly string[], container: string | undefined): { file: string } | { problem: string } {
  const containers = logFiles.filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -'.log'.length)).sort();
  if (container !== undefined) {
    return containers.includes(container) ? { file: `${container}.log` } : { problem: `no container ${container} (logs exist for: ${containers.join(', ') || 'none'})` };
  }
  if (containers.length === 1) return { file: `${containers[0]}.log` };
  if (containers.length === 0) return { problem: 'no container has written a log yet' };
  return { problem: `it has several containers; name one of: ${containers.join(', ')}` };
}

export async function resolveLogFile(layout: ClusterLayout, target: LogTarget): Promise<string> {
  const files = clusterFiles(layout);
  if (target.kind === 'component') {
    if (!(COMPONENTS as readonly string[]).includes(target.name)) {
      throw lullError(clusterErrors.clusterLogNotFound, target.name, `not a component (${COMPONENTS.join(', ')}) nor <namespace>/<pod>`);
    }
    return logFilePath(files.logs, target.name);
  }
  const dir = join(files.podLogs, `${target.namespace}_${target.pod}`);
  const entries = await readdir(dir).catch(() => undefined);
  if (entries === undefined) throw lullError(clusterErrors.clusterLogNotFound, `${target.namespace}/${target.pod}`, `${dir} does not exist (the pod never ran on this node)`);
  const choice = choosePodLog(entries, target.container);
  if ('problem' in choice) throw lullError(clusterErrors.clusterLogNotFound, `${target.namespace}/${target.pod}`, choice.problem);
  return join(dir, choice.file);
}
