// The wake of one app: one guarded scale from zero while connections are held, at most once per
// Deployment version. A lost race or a passing failure is tried again in a moment; a refusal (RBAC, a
// missing Deployment) is the answer to held connections for a while.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Logger } from '../core/log.ts';
import { statusOf, type ClusterApi } from './kube.ts';
import type { Reporter } from './reporter.ts';
import { needsScale, wakeReplicas } from '../core/wake.ts';

export interface WakerContext {
  cluster: Pick<ClusterApi, 'scale' | 'markWaking'>;
  log: Logger;
  report: Pick<Reporter, 'waking'>;
  /** Wake outcomes, for metrics. */
  woke(result: 'scaled' | 'lost' | 'failed'): void;
}

const SCALE_RETRY_MS = 1000;
/** How long a refused scale (RBAC, a missing Deployment) is the answer before it is tried again. */
const SCALE_FAILURE_MS = 10_000;

export class Waker {
  readonly #namespace: string;
  readonly #name: string;
  readonly #ctx: WakerContext;
  /** Called when a scale has ended or may be tried again. */
  readonly #onChange: () => void;
  /** The Deployment version a scale was tried on: never twice on the same one. */
  #scaledOn: string | undefined;
  #scaling = false;
  #failure: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(namespace: string, name: string, ctx: WakerContext, onChange: () => void) {
    this.#namespace = namespace;
    this.#name = name;
    this.#ctx = ctx;
    this.#onChange = onChange;
  }

  /** Why the app cannot be scaled up, while that is the answer. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Scales the app up if it is at zero, once per Deployment version; `held`: the connections waiting. */
  wake(deployment: V1Deployment | undefined, held: number): void {
    if (this.#scaling || this.#stopped || deployment === undefined || !needsScale(deployment)) return;
    const version = deployment.metadata?.resourceVersion;
    if (version !== undefined && version === this.#scaledOn) return;
    this.#scaledOn = version;
    void this.#scale(deployment, held);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
  }

  async #scale(deployment: V1Deployment, held: number): Promise<void> {
    this.#scaling = true;
    // Every connection held so far is demand: an autoscaled app wakes to enough replicas for them at once.
    const replicas = wakeReplicas(deployment.metadata?.annotations, undefined, held);
    const requested = new Date();
    const { cluster, log } = this.#ctx;
    try {
      const result = await cluster.scale(this.#namespace, this.#name, replicas);
      const ms = Date.now() - requested.getTime();
      this.#ctx.woke(result);
      this.#failure = undefined;
      if (result === 'lost') this.#retryLater(); // Someone else woke it; should this view be stale, look again.
      if (result === 'scaled') {
        log.info({ replicas, ms }, 'waking: scaled up from zero');
        this.#ctx.report.waking(replicas, ms, requested);
        cluster.markWaking(this.#namespace, this.#name).catch((err) => log.warn({ err: (err as Error).message }, 'cannot mark the app waking'));
      }
    } catch (err) {
      this.#ctx.woke('failed');
      const status = statusOf(err);
      log.warn({ status, err: (err as Error).message }, 'cannot scale the app up');
      // Refused outright (RBAC, gone): held connections get the answer now. Otherwise try again.
      if (status === 403 || status === 404) {
        this.#failure = `cannot scale it up: ${status === 403 ? 'forbidden' : 'not found'}`;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => {
          this.#failure = undefined;
          this.#scaledOn = undefined;
        }, SCALE_FAILURE_MS);
      } else this.#retryLater();
    } finally {
      this.#scaling = false;
      this.#onChange();
    }
  }

  /** Allows another scale attempt on the same Deployment version in a moment. */
  #retryLater(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#scaledOn = undefined;
      this.#onChange();
    }, SCALE_RETRY_MS);
  }
}
