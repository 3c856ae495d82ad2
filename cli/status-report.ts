// `lull status` output from what was read (pure): one item per app, then a table, JSON or YAML.
import { stringify } from 'yaml';
import { describeProblem, type AppProblem } from '../core/app-problems.ts';
import { formatDuration, humanDuration, preciseDuration } from '../core/duration.ts';
import type { Activity } from './activity.ts';
import { autoscaleCells, type AutoscaleStatus } from './autoscale.ts';
import type { AppView } from './app-view.ts';
import { formatTable } from './table.ts';
import type { LastWake } from './wakes.ts';
import { scheduleLine, scheduleStatus, type ScheduleStatus } from './schedule-line.ts';

export type Output = 'table' | 'wide' | 'json' | 'yaml';

/** One app in `-o json|yaml`: times as RFC 3339, durations in ms. */
export interface StatusItem {
  namespace: string;
  name: string;
  state: AppView['state'];
  replicas: number;
  readyReplicas: number;
  idleAfterMs: number;
  idleAfterFrom: 'annotation' | 'default';
  wakeReplicas: number;
  holdTimeoutMs: number;
  maxHeld: number;
  lastActivity?: string;
  inFlight?: number;
  sleptAt?: string;
  asleepForMs?: number;
  lastWake?: { at: string; durationMs?: number };
  sidecar?: string;
  /** Why it will not sleep or wake as expected (core/app-problems.ts). */
  problems?: AppProblem[];
  /** Its awake-hours, open or closed now, and the next transition. */
  schedule?: ScheduleStatus;
  /** Request-based scaling, when it has a target (cli/autoscale.ts). */
  autoscale?: AutoscaleStatus;
}

export function statusItem(view: AppView, activity: Activity | undefined, wake: LastWake | undefined, now: number, problems: readonly AppProblem[] = []): StatusItem {
  const item: StatusItem = {
    namespace: view.namespace,
    name: view.name,
    state: view.state,
    replicas: view.replicas,
    readyReplicas: view.ready,
    idleAfterMs: view.settings.idleAfterMs,
    idleAfterFrom: view.annotated.idleAfter ? 'annotation' : 'default',
    wakeReplicas: view.settings.wakeReplicas,
    holdTimeoutMs: view.settings.holdTimeoutMs,
    maxHeld: view.settings.maxHeld,
  };
  if (activity) {
    item.lastActivity = new Date(now - activity.idleForMs).toISOString();
    item.inFlight = activity.inFlight;
  }
  if (view.state === 'sleeping' && view.sleptAt !== undefined) {
    item.sleptAt = new Date(view.sleptAt).toISOString();
    item.asleepForMs = Math.max(0, now - view.sleptAt);
  }
  if (wake) item.lastWake = { at: new Date(wake.at).toISOString(), ...(wake.durationMs !== undefined ? { durationMs: wake.durationMs } : {}) };
  if (view.injected) item.sidecar = view.injected;
  if (problems.length > 0) item.problems = [...problems];
  const schedule = scheduleStatus(view.annotations, now);
  if (schedule) item.schedule = schedule;
  return item;
}

function lastActivityCell(item: StatusItem, now: number): string {
  if (item.lastActivity !== undefined) {
    const ago = `${humanDuration(now - Date.parse(item.lastActivity))} ago`;
    return item.inFlight ? `now (${item.inFlight} in flight)` : ago;
  }
  if (item.state === 'unmanaged') return '-';
  // Asleep: nothing since before the sleep, at least idle-after before it.
  if (item.state === 'sleeping') return item.asleepForMs !== undefined ? `>${humanDuration(item.asleepForMs + item.idleAfterMs)} ago` : '-';
  return item.replicas === 0 ? '-' : '<unknown>';
}

function lastWakeCell(item: StatusItem, now: number): string {
  if (!item.lastWake) return '-';
  const took = item.lastWake.durationMs === undefined ? '?' : preciseDuration(item.lastWake.durationMs);
  return `${took} (${humanDuration(now - Date.parse(item.lastWake.at))} ago)`;
}

export function formatStatus(items: readonly StatusItem[], output: Output, allNamespaces: boolean, now: number): string {
  if (output === 'json') return `${JSON.stringify({ apiVersion: 'lull.dev/v1', kind: 'AppStatusList', items }, null, 2)}\n`;
  if (output === 'yaml') return stringify({ apiVersion: 'lull.dev/v1', kind: 'AppStatusList', items });
  const wide = output === 'wide';
  const headers = [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'NAME',
    'STATE',
    'REPLICAS',
    'IDLE-AFTER',
    'LAST-ACTIVITY',
    'ASLEEP-FOR',
    'LAST-WAKE',
    ...(wide ? ['WAKE-REPLICAS', 'HOLD-TIMEOUT', 'MAX-HELD', 'SIDECAR'] : []),
    ...(wide ? ['TARGET', 'OBSERVED', 'DESIRED'] : []),
  ];
  const rows = items.map((item) => [
    ...(allNamespaces ? [item.namespace] : []),
    item.name,
    item.state,
    `${item.readyReplicas}/${item.replicas}`,
    `${formatDuration(item.idleAfterMs)}${item.idleAfterFrom === 'default' && wide ? ' (default)' : ''}`,
    lastActivityCell(item, now),
    item.asleepForMs !== undefined ? humanDuration(item.asleepForMs) : '-',
    lastWakeCell(item, now),
    ...(wide ? [String(item.wakeReplicas), formatDuration(item.holdTimeoutMs), String(item.maxHeld), item.sidecar ?? '-'] : []),
    ...(wide ? autoscaleCells(item.autoscale) : []),
  ]);
  // One line per reason under the table, kubectl-describe style: the table stays one row per app.
  const reasons = items.flatMap((item) => (item.problems ?? []).map((p) => `${allNamespaces ? `${item.namespace}/` : ''}${item.name}: ${describeProblem(p)}\n`));
  // The schedule and its next transition, one line per app that has one.
  const schedules = items.flatMap((item) => (item.schedule ? [`${allNamespaces ? `${item.namespace}/` : ''}${item.name}: ${scheduleLine(item.schedule, now)}\n`] : []));
  return formatTable(headers, rows) + (schedules.length > 0 ? `\n${schedules.join('')}` : '') + (reasons.length > 0 ? `\n${reasons.join('')}` : '');
}
