// What runs of the local cluster and whether it is healthy: pid files checked against /proc, then
// each component's own health endpoint.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { COMPONENTS, healthChecks, KUBELET_MAIN, type ComponentName } from './components.ts';
import { loadTls, probe } from './health.ts';
import { clusterFiles, clusterLayout, type ClusterLayout } from './layout.ts';
import { commandLine, logFilePath, pidsMentioning, runningPid } from './processes.ts';
import { CONTROL_PLANE_BINARIES } from './versions.ts';

export function kubeletInstalled(): boolean {
  return existsSync(KUBELET_MAIN);
}

export type ComponentState = 'ready' | 'unhealthy' | 'not running' | 'absent';

export interface ComponentStatus {
  name: ComponentName;
  pid?: number;
  state: ComponentState;
  detail: string;
  log: string;
}

export async function clusterStatus(layout: ClusterLayout = clusterLayout()): Promise<ComponentStatus[]> {
  const files = clusterFiles(layout);
  const checks = healthChecks(layout);
  const tls = await loadTls(layout).catch(() => undefined);
  return Promise.all(
    COMPONENTS.map(async (name): Promise<ComponentStatus> => {
      const log = logFilePath(files.logs, name);
      if (name === 'kubelet' && !kubeletInstalled()) return { name, state: 'absent', detail: `${KUBELET_MAIN} does not exist yet`, log };
      const pid = await runningPid(files.pids, name, layout.stateDir);
      if (pid === undefined) return { name, state: 'not running', detail: 'no live process behind its pid file', log };
      const result = await probe(checks[name], layout, tls);
      return { name, pid, state: result.ok ? 'ready' : 'unhealthy', detail: result.detail, log };
    }),
  );
}

/** Every component that can run is ready (a kubelet that is not written yet does not count). */
export function isHealthy(statuses: readonly ComponentStatus[]): boolean {
  return statuses.every((s) => s.state === 'ready' || s.state === 'absent');
}

/** Component processes: one of our binaries or the process kubelet, naming the state dir. */
export function isComponentCommand(cmdline: string): boolean {
  const exe = basename(cmdline.split(' ')[0] ?? '');
  return (CONTROL_PLANE_BINARIES as readonly string[]).includes(exe) || cmdline.includes(KUBELET_MAIN);
}

/** Live component processes of the cluster in `stateDir`, found by command line. */
export async function liveComponents(stateDir: string): Promise<number[]> {
  return (await pidsMentioning(stateDir)).filter((pid) => isComponentCommand(commandLine(pid)));
}
