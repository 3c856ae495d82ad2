// What every step of a reconcile reads and writes through, and what the leader remembers per app.
import type { Logger } from '../core/log.ts';
import type { Api } from './api.ts';
import type { AskPod } from './activity.ts';
import type { Deadlines } from './deadlines.ts';
import type { RecordEvent } from '../core/events.ts';
import type { ReconcilerMetrics } from './metrics.ts';
import type { PortTable } from './ports.ts';
import type { SliceWrites } from './slice-writes.ts';
import type { InterceptorEndpoint } from './slices.ts';
import type { World } from './world.ts';

/** Kept by the leader only, and lost with leadership: everything here can be learned again. */
export interface AppMemory {
  /** Latest activity known on any pod, on the reconciler's clock. */
  activeAt?: number;
  /** Failed activity asks in a row, and when to ask again after the last one. */
  failures: number;
  retryAt?: number;
  /**
   * When this leader saw the last thing that kept the app from sleeping lift (typically its Services
   * starting to reach it through the sidecar). Until kube-proxy follows a rewritten Service, requests
   * bypass the sidecar unseen, so that moment counts as activity.
   */
  routedAt?: number;
  /** Why the app may not sleep now, when something other than activity stops it. */
  blocked?: string;
  /** When the wake in progress was first seen, and whether its failure was reported. */
  wakeStartedAt?: number;
  wakeFailedReported?: boolean;
  /** The wake in progress is wake-at-start's (reconciler/schedule.ts). */
  wokeBySchedule?: boolean;
  /** Touch backoff per object ("deployment", "service/<name>"). */
  touches: Map<string, { attempts: number; nextAt: number }>;
}

export interface Context {
  world: World;
  api: Api;
  ask: AskPod;
  record: RecordEvent;
  metrics: ReconcilerMetrics;
  logger: Logger;
  deadlines: Deadlines;
  ports: PortTable;
  /** The interceptor slices written lately, until the cache shows them. */
  sliceWrites: SliceWrites;
  interceptors: () => InterceptorEndpoint[];
  memory: (key: string) => AppMemory;
  now: () => number;
  /** How long before awake-hours open wake-at-start wakes an app (--wake-lead); core's default when absent. */
  wakeLeadMs?: number;
  /** The version this release's webhook records in lull.dev/injected; undefined: no auto-upgrades. */
  sidecarVersion?: string;
}

export function newMemory(): AppMemory {
  return { failures: 0, touches: new Map() };
}
