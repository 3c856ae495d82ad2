// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: a Lease is expired when its
// record has not changed for its duration on *our* clock (no trust in other nodes' clocks), writes are
// compare-and-swap on resourceVersion, and a leader that cannot renew within the deadline steps down.
import { setTimeout as delay } from 'node:timers/promises';
import { errors, lullError } from '../core/errors.ts';
import { isStatus, PATCH, type KubeClient } from '../core/kube-client.ts';
import type { Logger } from '../core/log.ts';
import { microTime } from '../core/micro-time.ts';
import type { LeaseSettings } from './config.ts';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface StoredLease {
  resourceVersion: string;
  spec: LeaseRecord;
}

/** Where the Lease lives; create and update answer false when someone else wrote first. */
export interface LeaseStore {
  get(): Promise<StoredLease | undefined>;
  create(spec: LeaseRecord): Promise<boolean>;
  update(resourceVersion: string, spec: LeaseRecord): Promise<boolean>;
  /** Why a call failed and what fixes it, in the user's terms. */
  explain?(err: unknown): LeaseProblem;
}

/** A failure to read or write the Lease: `lasting` ones (a missing namespace, no permission) need a person. */
export interface LeaseProblem {
  message: string;
  /** HTTP status, or "network". */
  code: string;
  lasting: boolean;
}

/** Pure: what a failed Lease call means and the command or change that fixes it. */
export function leaseProblem(err: unknown, namespace: string, name: string): LeaseProblem {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  const detail = err instanceof Error ? err.message : String(err);
  if (status === 404) return { code: '404', lasting: true, message: lullError(errors.leaseUnavailable, namespace, name, `namespace ${namespace} does not exist`, `create it: kubectl create namespace ${namespace}`).message };
  if (status === 403) {
    const fix = `grant its ServiceAccount get, create and patch on leases in ${namespace} (deploy/base/reconciler/rbac.yaml)`;
    return { code: '403', lasting: true, message: lullError(errors.leaseUnavailable, namespace, name, 'forbidden', fix).message };
  }
  return { code: typeof status === 'number' ? String(status) : 'network', lasting: false, message: lullError(errors.leaseUnavailable, namespace, name, detail, 'retrying').message };
}

export function kubeLeaseStore(client: KubeClient, namespace: string, name: string, timeoutMs: number): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const path = `${collection}/${name}`;
  return {
    explain: (err) => leaseProblem(err, namespace, name),
    async get() {
      try {
        const lease = await client.request<{ metadata: { resourceVersion: string }; spec?: LeaseRecord }>('GET', path, { timeoutMs });
        return { resourceVersion: lease.metadata.resourceVersion, spec: lease.spec ?? {} };
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async create(spec) {
      try {
        await client.request('POST', collection, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec }, timeoutMs });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },
    async update(resourceVersion, spec) {
      try {
        // A merge patch carrying resourceVersion is a compare-and-swap.
        await client.request('PATCH', path, { body: { metadata: { resourceVersion }, spec }, contentType: PATCH.merge, timeoutMs });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    },
  };
}

export interface ElectorOptions {
  store: LeaseStore;
  settings: Pick<LeaseSettings, 'identity' | 'durationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  logger: Logger;
  /** Called when this replica becomes leader; leading stays true until onStoppedLeading. */
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Each failed Lease call (for a metric). */
  onLeaseError?: (problem: LeaseProblem) => void;
  now?: () => number;
}

export interface Elector {
  isLeader(): boolean;
  /** Who holds the Lease, as last seen. */
  leader(): string | undefined;
  /** Why the last Lease call failed; undefined once one succeeds. */
  problem(): LeaseProblem | undefined;
  run(): Promise<void>;
  /** Stops campaigning; a leader steps down and releases the Lease so a standby takes over at once. */
  stop(): Promise<void>;
}

export function elector(options: ElectorOptions): Elector {
  const { store, settings, logger } = options;
  const now = options.now ?? Date.now;
  const durationSeconds = Math.max(1, Math.ceil(settings.durationMs / 1000));
  let leading = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  const abort = new AbortController();
  // The last record seen and when it was seen, on our clock.
  let observed: { resourceVersion: string; spec: LeaseRecord; at: number } | undefined;

  /** ok: we hold it now; taken: another replica holds a live Lease; failed: a write lost a race or errored. */
  async function tryAcquireOrRenew(): Promise<'ok' | 'taken' | 'failed'> {
    const t = now();
    const current = await store.get();
    if (current === undefined) {
      const spec = { holderIdentity: settings.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(t), renewTime: microTime(t), leaseTransitions: 0 };
      return (await store.create(spec)) ? 'ok' : 'failed';
    }
    if (observed?.resourceVersion !== current.resourceVersion) observed = { resourceVersion: current.resourceVersion, spec: current.spec, at: t };
    const holder = current.spec.holderIdentity;
    const mine = holder === settings.identity;
    const held = holder !== undefined && holder !== '' && !mine;
    const lastsMs = (current.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (held && observed.at + lastsMs > t) return 'taken';
    const spec: LeaseRecord = {
      holderIdentity: settings.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine ? current.spec.acquireTime ?? microTime(t) : microTime(t),
      renewTime: microTime(t),
      leaseTransitions: mine ? current.spec.leaseTransitions ?? 0 : (current.spec.leaseTransitions ?? 0) + 1,
    };
    return (await store.update(current.resourceVersion, spec)) ? 'ok' : 'failed';
  }

  let problem: LeaseProblem | undefined;
  async function attempt(): Promise<'ok' | 'taken' | 'failed'> {
    try {
      const outcome = await tryAcquireOrRenew();
      if (problem !== undefined) logger.info({ identity: settings.identity }, 'the leader Lease can be read and written again');
      problem = undefined;
      return outcome;
    } catch (err) {
      const next = store.explain?.(err) ?? { code: 'error', lasting: false, message: `cannot read or write the leader Lease: ${(err as Error).message}` };
      options.onLeaseError?.(next);
      // Once per distinct problem: a standby retrying every few seconds would drown the log otherwise.
      logger[next.message === problem?.message ? 'debug' : 'warn']({ identity: settings.identity, err: (err as Error).message }, next.message);
      problem = next;
      return 'failed';
    }
  }

  const pause = (ms: number) => delay(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  async function loop(): Promise<void> {
    while (!stopped) {
      // Campaign: jittered retries, so standbys do not write in lockstep.
      if ((await attempt()) !== 'ok') {
        await pause(settings.retryPeriodMs * (1 + Math.random() * 0.2));
        continue;
      }
      if (stopped) break;
      leading = true;
      logger.info({ identity: settings.identity }, 'became leader');
      options.onStartedLeading();
      let renewedAt = now();
      while (!stopped) {
        await pause(settings.retryPeriodMs);
        if (stopped) break;
        const outcome = await attempt();
        if (outcome === 'ok') {
          renewedAt = now();
        } else if (outcome === 'taken') {
          logger.warn({ identity: settings.identity, holder: observed?.spec.holderIdentity }, 'another replica holds the leader Lease; stepping down');
          break;
        } else if (now() - renewedAt >= settings.renewDeadlineMs) {
          logger.warn({ identity: settings.identity }, 'could not renew the leader Lease in time; stepping down');
          break;
        }
      }
      leading = false;
      options.onStoppedLeading();
    }
  }

  return {
    isLeader: () => leading,
    leader: () => observed?.spec.holderIdentity || (leading ? settings.identity : undefined),
    problem: () => problem,
    run() {
      running ??= loop();
      return running;
    },
    async stop() {
      stopped = true;
      abort.abort();
      const wasLeading = leading;
      await running;
      if (!wasLeading) return;
      // Release: an empty holder lets a standby take over on its next try instead of after the Lease expires.
      try {
        const current = await store.get();
        if (current?.spec.holderIdentity === settings.identity) {
          await store.update(current.resourceVersion, { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now()) });
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not release the leader Lease');
      }
    },
  };
}
