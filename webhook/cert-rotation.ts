// Keeps the serving certificate fresh: checks the Secret when renewal is due (and every resync), publishes
// the CA bundle, and swaps a new certificate into the running server.
import type { KeyAndCert } from '../core/certs.ts';
import type { Logger } from '../core/log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { bundleChangeTime, caBundle, renewalTime, type TlsMaterial, type TlsSettings } from './tls-material.ts';

export interface RotationOptions {
  settings: TlsSettings;
  /** Reads the Secret, renewing what is due (ensureTls); `inUse` is the material served now. */
  ensure: (inUse: TlsMaterial | undefined) => Promise<TlsMaterial>;
  /** Writes the CA bundle into the webhook configurations. */
  publishBundle: (bundlePem: string) => Promise<void>;
  /** Puts a new serving certificate into the running server. */
  swap: (serving: KeyAndCert) => void;
  logger: Logger;
  metrics?: Pick<WebhookMetrics, 'certificateExpiry' | 'certificateRenewals'>;
  /** Longest time between two looks at the Secret and the configurations (adopts other replicas' renewals, heals a wiped caBundle). */
  resyncMs: number;
  /** Spreads replicas' renewals so that usually one writes and the others adopt. */
  jitterMs?: number;
  now?: () => number;
}

export interface Rotation {
  /** One look: renew if due, publish the bundle, swap if the certificate changed. */
  check(): Promise<TlsMaterial>;
  /** Checks again whenever due, until stopped. */
  start(): void;
  stop(): void;
  current(): TlsMaterial | undefined;
}

// setTimeout cannot wait longer than this.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function certRotation(options: RotationOptions): Rotation {
  const now = options.now ?? Date.now;
  let current: TlsMaterial | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let failures = 0;

  async function check(): Promise<TlsMaterial> {
    const material = await options.ensure(current);
    // Trust first: the apiserver must know a new CA before any replica serves a certificate from it.
    await options.publishBundle(caBundle(material, now()));
    if (current !== undefined && current.serving.certPem !== material.serving.certPem) {
      options.swap(material.serving);
      options.metrics?.certificateRenewals.inc();
      options.logger.info({ renewAt: new Date(renewalTime(material, options.settings)).toISOString() }, 'serving certificate swapped in');
    }
    current = material;
    options.metrics?.certificateExpiry.set((renewalTime(material, options.settings) + options.settings.renewBeforeMs) / 1000);
    return material;
  }

  /** Renewal, a resync, or the previous CA's overlap ending (it leaves the bundle then): whichever comes first. */
  function nextLookIn(material: TlsMaterial, jitter = 0): number {
    const bundleChange = bundleChangeTime(material, now());
    return Math.min(renewalTime(material, options.settings) - now() + jitter, options.resyncMs, bundleChange === undefined ? Infinity : bundleChange - now() + 1);
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(run, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
  }

  async function run(): Promise<void> {
    try {
      const material = await check();
      failures = 0;
      const jitter = Math.random() * (options.jitterMs ?? 0);
      // At least a second apart, whatever the clocks say, so a misjudged expiry cannot spin.
      schedule(Math.max(1000, nextLookIn(material, jitter)));
    } catch (err) {
      failures++;
      const retryMs = Math.min(options.resyncMs, 1000 * 2 ** Math.min(failures, 6));
      options.logger.warn({ err, retryMs }, 'certificate check failed; the current certificate stays in use');
      schedule(retryMs);
    }
  }

  return {
    check,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(current ? nextLookIn(current) : 0);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    current: () => current,
  };
}
