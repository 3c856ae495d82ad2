// The webhook's CA and serving certificate: what the Secret holds, and when to issue anew (pure decisions).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCA, issueCert, type KeyAndCert } from '../core/certs.ts';

export interface TlsMaterial {
  ca: KeyAndCert;
  /** The CA before the last CA rotation, trusted only until `previousCaUntil` (ms since the epoch). */
  previousCaPem?: string;
  previousCaUntil?: number;
  serving: KeyAndCert;
}

export interface TlsSettings {
  /** Names the serving certificate must cover: the Service's DNS names, or the host's address out of cluster. */
  dnsNames: string[];
  ipAddresses: string[];
  certValidityMs: number;
  /** Renew the serving certificate this long before it expires. */
  renewBeforeMs: number;
  caValidityMs: number;
  /** How long the previous CA stays in the bundle after a CA change: every replica has moved over well within it. */
  caOverlapMs: number;
}

export type TlsAction = { action: 'use' } | { action: 'issue' | 'new-ca'; reason: string };

const DAY_MS = 86_400_000;
// Tolerates clocks a little behind ours, without eating much of a short test certificate's life.
const MAX_SKEW_MS = 60_000;

/** The CA Secret holds the CA's key (only the webhook reads it); the serving Secret holds the serving key and, for reference, the CA certificate. */
export const SECRET_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key', previousCa: 'ca-previous.crt', previousCaUntil: 'ca-previous-until' } as const;

function sans(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11));
  }
  return { dnsNames, ipAddresses };
}

function parsed(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** When the serving certificate should be renewed. */
export function renewalTime(material: TlsMaterial, settings: Pick<TlsSettings, 'renewBeforeMs'>): number {
  return new X509Certificate(material.serving.certPem).validToDate.getTime() - settings.renewBeforeMs;
}

/** Pure given `now`: keep the material, issue a serving certificate from its CA, or start a new CA. */
export function planTls(material: TlsMaterial | undefined, settings: TlsSettings, now: number): TlsAction {
  if (material === undefined) return { action: 'new-ca', reason: 'no certificate yet' };
  const ca = parsed(material.ca.certPem);
  if (ca === undefined || !ca.ca || !keyMatches(ca, material.ca.keyPem)) return { action: 'new-ca', reason: 'the CA cannot be read' };
  // A CA must outlive every certificate it signs, with room to renew them.
  if (ca.validToDate.getTime() < now + settings.certValidityMs + settings.renewBeforeMs) return { action: 'new-ca', reason: 'the CA expires soon' };
  const cert = parsed(material.serving.certPem);
  if (cert === undefined || !keyMatches(cert, material.serving.keyPem)) return { action: 'issue', reason: 'the serving certificate cannot be read' };
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { action: 'issue', reason: 'the serving certificate is not from the current CA' };
  if (cert.validToDate.getTime() - settings.renewBeforeMs <= now) return { action: 'issue', reason: 'the serving certificate is due for renewal' };
  const has = sans(cert);
  const missing = [...settings.dnsNames.filter((n) => !has.dnsNames.includes(n)), ...settings.ipAddresses.filter((ip) => !has.ipAddresses.includes(ip))];
  if (missing.length > 0) return { action: 'issue', reason: `the serving certificate does not name ${missing.join(', ')}` };
  return { action: 'use' };
}

function serving(ca: KeyAndCert, settings: TlsSettings, keep: { dnsNames: string[]; ipAddresses: string[] }): KeyAndCert {
  // Names already certified are kept, so replicas configured with different names converge instead of fighting.
  const dnsNames = [...new Set([...settings.dnsNames, ...keep.dnsNames])];
  const ipAddresses = [...new Set([...settings.ipAddresses, ...keep.ipAddresses])];
  return issueCert(ca, {
    commonName: dnsNames[0] ?? ipAddresses[0] ?? 'lull-webhook',
    dnsNames,
    ipAddresses,
    usage: 'server',
    validDays: settings.certValidityMs / DAY_MS,
    notBeforeSkewMs: Math.min(MAX_SKEW_MS, settings.certValidityMs / 10),
  });
}

/**
 * Carries out a plan: new keys and certificates (node-forge), reusing what is still good. `inUse` is
 * what this replica serves now: if the Secret was lost, its CA stays trusted while replicas move over.
 */
export function renewTls(material: TlsMaterial | undefined, plan: Exclude<TlsAction, { action: 'use' }>, settings: TlsSettings, inUse?: TlsMaterial): TlsMaterial {
  const old = material ? parsed(material.serving.certPem) : undefined;
  const keep = old ? sans(old) : { dnsNames: [], ipAddresses: [] };
  if (plan.action === 'issue' && material !== undefined) {
    return { ...material, serving: serving(material.ca, settings, keep) };
  }
  const ca = createCA('lull-webhook-ca', settings.caValidityMs / DAY_MS);
  const previousPem = (material ?? inUse)?.ca.certPem;
  const previous = previousPem ? parsed(previousPem) : undefined;
  const now = Date.now();
  const previousCaUntil = previous ? Math.min(previous.validToDate.getTime(), now + settings.caOverlapMs) : 0;
  return { ca, ...(previousCaUntil > now ? { previousCaPem: previousPem!, previousCaUntil } : {}), serving: serving(ca, settings, keep) };
}

/** The PEM bundle the apiserver must trust: the current CA, and the previous one during the overlap (and while valid). */
export function caBundle(material: TlsMaterial, now: number): string {
  return previousTrusted(material, now) ? `${material.ca.certPem.trim()}\n${material.previousCaPem!.trim()}\n` : material.ca.certPem;
}

function previousTrusted(material: TlsMaterial, now: number): boolean {
  const previous = material.previousCaPem ? parsed(material.previousCaPem) : undefined;
  return previous !== undefined && previous.validToDate.getTime() > now && (material.previousCaUntil ?? 0) > now;
}

/** When the bundle next changes by itself (the previous CA leaves it), if it will. */
export function bundleChangeTime(material: TlsMaterial, now: number): number | undefined {
  if (!previousTrusted(material, now)) return undefined;
  return Math.min(material.previousCaUntil!, parsed(material.previousCaPem!)!.validToDate.getTime());
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8'));

export interface SecretsData {
  ca: Record<string, string>;
  serving: Record<string, string>;
}

/** Secret `data` of the CA Secret and the serving Secret. */
export function toSecretsData(material: TlsMaterial): SecretsData {
  return {
    ca: {
      [SECRET_KEYS.caCert]: b64(material.ca.certPem),
      [SECRET_KEYS.caKey]: b64(material.ca.keyPem),
      ...(material.previousCaPem && material.previousCaUntil
        ? { [SECRET_KEYS.previousCa]: b64(material.previousCaPem), [SECRET_KEYS.previousCaUntil]: b64(new Date(material.previousCaUntil).toISOString()) }
        : {}),
    },
    serving: { [SECRET_KEYS.caCert]: b64(material.ca.certPem), [SECRET_KEYS.cert]: b64(material.serving.certPem), [SECRET_KEYS.key]: b64(material.serving.keyPem) },
  };
}

/**
 * The material in the two Secrets' `data`, or undefined without a CA. Before the split (Lull 0.1) one
 * Secret held everything: a serving Secret carrying `ca.key` is read as the CA too, so an upgrade keeps
 * its CA. A missing serving certificate reads as empty, which plans a new one from the CA.
 */
export function fromSecretsData(caData: Record<string, string> | undefined, servingData: Record<string, string> | undefined): TlsMaterial | undefined {
  const source = caData?.[SECRET_KEYS.caKey] !== undefined ? caData : servingData;
  const caCert = unb64(source?.[SECRET_KEYS.caCert]);
  const caKey = unb64(source?.[SECRET_KEYS.caKey]);
  if (!caCert || !caKey) return undefined;
  const previousCaPem = unb64(source?.[SECRET_KEYS.previousCa]);
  const until = Date.parse(unb64(source?.[SECRET_KEYS.previousCaUntil]) ?? '');
  return {
    ca: { certPem: caCert, keyPem: caKey },
    // A previous CA of the old layout has no end of overlap: it leaves the bundle at once (its replicas serve the current CA).
    ...(previousCaPem && Number.isFinite(until) ? { previousCaPem, previousCaUntil: until } : {}),
    serving: { certPem: unb64(servingData?.[SECRET_KEYS.cert]) ?? '', keyPem: unb64(servingData?.[SECRET_KEYS.key]) ?? '' },
  };
}

/** The serving Secret still holds the CA key (the layout before the split). */
export function holdsCaKey(servingData: Record<string, string> | undefined): boolean {
  return servingData?.[SECRET_KEYS.caKey] !== undefined || servingData?.[SECRET_KEYS.previousCa] !== undefined;
}
