import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.ts';
import { caBundlePatch } from '../../../webhook/ca-bundle.ts';
import { certRotation } from '../../../webhook/cert-rotation.ts';
import { ensureTls, type SecretApi } from '../../../webhook/cert-store.ts';
import { KubeApiError } from '../../../core/kube-client.ts';
import { createMetrics } from '../../../webhook/metrics.ts';
import { buildServer, type WebhookServer } from '../../../webhook/server.ts';
import { bundleChangeTime, caBundle, planTls, renewTls, type TlsMaterial, type TlsSettings } from '../../../webhook/tls-material.ts';

const logger = createLogger('webhook', 'silent');
const HOUR = 3_600_000;
const settings: TlsSettings = { dnsNames: ['lull-webhook.lull-system.svc'], ipAddresses: ['127.0.0.1'], certValidityMs: 24 * HOUR, renewBeforeMs: 8 * HOUR, caValidityMs: 100 * 24 * HOUR, caOverlapMs: HOUR };

/** A Secret API in memory with the apiserver's optimistic concurrency. */
function memorySecret(name: string, counter: { writes: number }): SecretApi & { secret(): V1Secret | undefined } {
  let stored: V1Secret | undefined;
  let version = 0;
  const conflict = (reason: string) => new KubeApiError('PUT', `/api/v1/namespaces/lull-system/secrets/${name}`, 409, reason, reason);
  return {
    name: `lull-system/${name}`,
    secret: () => stored,
    async get() {
      return structuredClone(stored);
    },
    async create(secret) {
      if (stored) throw conflict('AlreadyExists');
      counter.writes++;
      stored = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: String(++version) } };
      return structuredClone(stored);
    },
    async replace(secret) {
      if (secret.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) throw conflict('Conflict');
      counter.writes++;
      stored = { ...structuredClone(secret), metadata: { ...secret.metadata, resourceVersion: String(++version) } };
      return structuredClone(stored);
    },
  };
}

/** The CA Secret and the serving Secret, counting writes to either. */
function memorySecrets() {
  const counter = { writes: 0 };
  const ca = memorySecret('lull-webhook-ca', counter);
  const serving = memorySecret('lull-webhook-tls', counter);
  return {
    ca,
    serving,
    get writes() {
      return counter.writes;
    },
  };
}

const serial = (pem: string) => new X509Certificate(pem).serialNumber;

describe('planTls', () => {
  const material = renewTls(undefined, { action: 'new-ca', reason: 'test' }, settings);
  const now = Date.now();

  it('keeps fresh material, and renews a third of the lifetime before expiry', () => {
    expect(planTls(material, settings, now)).toEqual({ action: 'use' });
    expect(planTls(material, settings, now + 17 * HOUR).action).toBe('issue');
  });

  it('starts with a new CA, and replaces a CA that would not outlive the next certificate', () => {
    expect(planTls(undefined, settings, now).action).toBe('new-ca');
    expect(planTls(material, settings, now + 99 * 24 * HOUR).action).toBe('new-ca');
    expect(planTls({ ...material, ca: { ...material.ca, keyPem: material.serving.keyPem } }, settings, now).action).toBe('new-ca');
  });

  it('issues again for a name the certificate lacks, keeping the names it had', () => {
    const wider = { ...settings, dnsNames: [...settings.dnsNames, 'webhook.example.test'] };
    expect(planTls(material, wider, now)).toEqual({ action: 'issue', reason: 'the serving certificate does not name webhook.example.test' });
    const reissued = renewTls(material, { action: 'issue', reason: 'test' }, { ...wider, ipAddresses: ['10.213.0.1'] });
    expect(new X509Certificate(reissued.serving.certPem).subjectAltName).toBe('DNS:lull-webhook.lull-system.svc, DNS:webhook.example.test, IP Address:10.213.0.1, IP Address:127.0.0.1');
    expect(reissued.ca).toEqual(material.ca);
  });

  it('issues again for a certificate from another CA', () => {
    const other = renewTls(undefined, { action: 'new-ca', reason: 'test' }, settings);
    expect(planTls({ ...material, serving: other.serving }, settings, now).action).toBe('issue');
  });

  it('keeps trusting the previous CA after a CA rotation, while it is valid', () => {
    const rotated = renewTls(material, { action: 'new-ca', reason: 'test' }, settings);
    expect(rotated.previousCaPem).toBe(material.ca.certPem);
    expect(caBundle(rotated, now)).toContain(material.ca.certPem.trim());
    expect(caBundle(rotated, now)).toContain(rotated.ca.certPem.trim());
    expect(caBundle(rotated, now + 200 * 24 * HOUR)).toBe(rotated.ca.certPem);
  });
});

describe('ensureTls (a CA Secret and a serving Secret, several replicas)', () => {
  it('creates the two Secrets once, the CA key apart from the serving key; replicas racing agree on what the winner wrote', async () => {
    const secrets = memorySecrets();
    const [a, b] = await Promise.all([ensureTls(secrets, settings, logger), ensureTls(secrets, settings, logger)]);
    expect(secrets.writes).toBe(2);
    expect(a).toEqual(b);
    expect(secrets.serving.secret()!.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secrets.serving.secret()!.data!).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(Object.keys(secrets.ca.secret()!.data!).sort()).toEqual(['ca.crt', 'ca.key']);
    expect(await ensureTls(secrets, settings, logger)).toEqual(a);
    expect(secrets.writes).toBe(2);
  });

  it('splits a Secret of the single-Secret layout, keeping its CA and serving certificate', async () => {
    const secrets = memorySecrets();
    const old = renewTls(undefined, { action: 'new-ca', reason: 'test' }, settings);
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    await secrets.serving.create({ type: 'kubernetes.io/tls', data: { 'ca.crt': b64(old.ca.certPem), 'ca.key': b64(old.ca.keyPem), 'tls.crt': b64(old.serving.certPem), 'tls.key': b64(old.serving.keyPem) } });
    const split = await ensureTls(secrets, settings, logger);
    expect(split.ca).toEqual(old.ca);
    expect(split.serving).toEqual(old.serving);
    expect(Object.keys(secrets.serving.secret()!.data!).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(Buffer.from(secrets.ca.secret()!.data!['ca.key']!, 'base64').toString()).toBe(old.ca.keyPem);
    const writes = secrets.writes;
    expect(await ensureTls(secrets, settings, logger)).toEqual(split);
    expect(secrets.writes).toBe(writes);
  });

  it('issues a serving certificate from the stored CA when the serving Secret is gone', async () => {
    const secrets = memorySecrets();
    const first = await ensureTls(secrets, settings, logger);
    const other = memorySecrets();
    await other.ca.create(secrets.ca.secret()!);
    const reissued = await ensureTls(other, settings, logger);
    expect(reissued.ca).toEqual(first.ca);
    expect(serial(reissued.serving.certPem)).not.toBe(serial(first.serving.certPem));
  });

  it('keeps trusting the CA in use when the Secret was lost', async () => {
    const inUse = await ensureTls(memorySecrets(), settings, logger);
    const recreated = await ensureTls(memorySecrets(), settings, logger, Date.now, inUse);
    expect(recreated.ca).not.toEqual(inUse.ca);
    expect(recreated.previousCaPem).toBe(inUse.ca.certPem);
    expect(caBundle(recreated, Date.now())).toContain(inUse.ca.certPem.trim());
  });

  it('renews when due, and replicas due at the same time write once', async () => {
    const secrets = memorySecrets();
    // The first certificate lives 12 h (due after 4 h); its successors live 24 h (due after 16 h).
    const first = await ensureTls(secrets, { ...settings, certValidityMs: 12 * HOUR }, logger);
    const later = () => Date.now() + 5 * HOUR;
    const [a, b] = await Promise.all([ensureTls(secrets, settings, logger, later), ensureTls(secrets, settings, logger, later)]);
    expect(secrets.writes).toBe(3);
    expect(a.serving).toEqual(b.serving);
    expect(serial(a.serving.certPem)).not.toBe(serial(first.serving.certPem));
    expect(a.ca).toEqual(first.ca);
  });
});

describe('certificate rotation on a running server', () => {
  // Short-lived for real: 6 s certificates, renewed 4 s before they expire (so after 2 s).
  const short: TlsSettings = { dnsNames: [], ipAddresses: ['127.0.0.1'], certValidityMs: 6000, renewBeforeMs: 4000, caValidityMs: 3_600_000, caOverlapMs: 60_000 };
  let server: WebhookServer | undefined;
  afterAll(() => server?.app.close());

  /** A fresh TLS connection (no agent), trusting only `ca`; returns the serial of the certificate served. */
  function fetchSerial(port: number, ca: string): Promise<{ status: number; serial: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, agent: false }, (res) => {
        const cert = (res.socket as TLSSocket).getPeerX509Certificate();
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, serial: cert!.serialNumber }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('swaps a renewed certificate in without a restart, trusted through the published bundle', async () => {
    const secrets = memorySecrets();
    const published: string[] = [];
    let served: TlsMaterial['serving'] | undefined;
    let clockMs = 0;
    const rotation = certRotation({
      settings: short,
      ensure: () => ensureTls(secrets, short, logger, () => Date.now() + clockMs),
      publishBundle: async (pem) => void published.push(pem),
      swap: (serving) => {
        served = serving;
        server!.setCertificate(serving);
      },
      logger,
      metrics: createMetrics({ processMetrics: false }),
      resyncMs: 60_000,
      now: () => Date.now() + clockMs,
    });
    const initial = await rotation.check();
    server = buildServer({ context: {} as never, metrics: createMetrics({ processMetrics: false }), logger, tls: initial.serving, ready: () => true });
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.app.server.address() as { port: number }).port;

    const before = await fetchSerial(port, published.at(-1)!);
    expect(before).toEqual({ status: 200, serial: serial(initial.serving.certPem) });

    clockMs = 2500; // past the renewal time of the first certificate
    const renewed = await rotation.check();
    expect(served).toEqual(renewed.serving);
    expect(serial(renewed.serving.certPem)).not.toBe(before.serial);
    const after = await fetchSerial(port, published.at(-1)!);
    expect(after).toEqual({ status: 200, serial: serial(renewed.serving.certPem) });

    // A replica that finds the Secret renewed by another adopts it without writing.
    const writes = secrets.writes;
    const other = certRotation({ settings: short, ensure: () => ensureTls(secrets, short, logger), publishBundle: async () => {}, swap: () => {}, logger, resyncMs: 60_000 });
    expect((await other.check()).serving).toEqual(renewed.serving);
    expect(secrets.writes).toBe(writes);
  });

  it('renews by itself when started, before the certificate expires', async () => {
    const secrets = memorySecrets();
    const swapped: string[] = [];
    const shorter = { ...short, certValidityMs: 3000, renewBeforeMs: 2000 };
    const rotation = certRotation({
      settings: shorter,
      ensure: () => ensureTls(secrets, shorter, logger),
      publishBundle: async () => {},
      swap: (serving) => swapped.push(serving.certPem),
      logger,
      resyncMs: 60_000,
    });
    const initial = await rotation.check();
    rotation.start();
    const deadline = new X509Certificate(initial.serving.certPem).validToDate.getTime();
    await expect.poll(() => swapped.length, { timeout: 5000, interval: 50 }).toBe(1);
    rotation.stop();
    expect(Date.now()).toBeLessThan(deadline);
    expect(new X509Certificate(swapped[0]!).validToDate.getTime()).toBeGreaterThan(deadline);
  });
});

describe('the previous CA on a running rotation', () => {
  it('leaves the published bundle when its overlap ends, without waiting for a resync', async () => {
    const quick = { ...settings, caOverlapMs: 1500 };
    const first = renewTls(undefined, { action: 'new-ca', reason: 'test' }, quick);
    const rotated = renewTls(first, { action: 'new-ca', reason: 'test' }, quick);
    const published: string[] = [];
    const rotation = certRotation({ settings: quick, ensure: async () => rotated, publishBundle: async (pem) => void published.push(pem), swap: () => {}, logger, resyncMs: 60_000 });
    await rotation.check();
    expect(published[0]).toContain(first.ca.certPem.trim());
    rotation.start();
    await expect.poll(() => published.at(-1), { timeout: 5000, interval: 50 }).toBe(rotated.ca.certPem);
    rotation.stop();
  });
});

describe('caBundlePatch', () => {
  it('sets every webhook’s caBundle, guarded by its name, and nothing when already set', () => {
    const config = { webhooks: [{ name: 'mutate.lull.dev', clientConfig: {} }, { name: 'routes.lull.dev', clientConfig: { caBundle: Buffer.from('PEM').toString('base64') } }] };
    expect(caBundlePatch(config, 'PEM')).toEqual([
      { op: 'test', path: '/webhooks/0/name', value: 'mutate.lull.dev' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('PEM').toString('base64') },
    ]);
    expect(caBundlePatch({ webhooks: [{ name: 'a', clientConfig: { caBundle: Buffer.from('PEM').toString('base64') } }] }, 'PEM')).toEqual([]);
  });
});
