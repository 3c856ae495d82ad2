// The webhook's CA and serving certificate: what the Secret holds, and when to issue anew (pure decisions).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCA, issueCert, type KeyAndCert } from '../core/certs.ts';

export interface TlsMaterial {
  ca: KeyAndCert;
  /** The CA before the last CA rotation, still trusted until it expires. */
  previousCaPem?: string;
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
}

export type TlsAction = { action: 'use' } | { action: 'issue' | 'new-ca'; reason: string };

const DAY_MS = 86_400_000;
// Tolerates clocks a little behind ours, without eating much of a short test certificate's life.
const MAX_SKEW_MS = 60_000;

export const SECRET_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key', previousCa: 'ca-previous.crt' } as const;

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
  const previousCaPem = previous && previous.validToDate.getTime() > Date.now() ? previousPem : undefined;
  return { ca, ...(previousCaPem ? { previousCaPem } : {}), serving: serving(ca, settings, keep) };
}

/** The PEM bundle the apiserver must trust: the current CA, and the previous one while it is valid. */
export function caBundle(material: TlsMaterial, now: number): string {
  const previous = material.previousCaPem ? parsed(material.previousCaPem) : undefined;
  const keepPrevious = previous !== undefined && previous.validToDate.getTime() > now;
  return keepPrevious ? `${material.ca.certPem.trim()}\n${material.previousCaPem!.trim()}\n` : material.ca.certPem;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8'));

/** Secret `data` for the material. */
export function toSecretData(material: TlsMaterial): Record<string, string> {
  return {
    [SECRET_KEYS.caCert]: b64(material.ca.certPem),
    [SECRET_KEYS.caKey]: b64(material.ca.keyPem),
    [SECRET_KEYS.cert]: b64(material.serving.certPem),
    [SECRET_KEYS.key]: b64(material.serving.keyPem),
    ...(material.previousCaPem ? { [SECRET_KEYS.previousCa]: b64(material.previousCaPem) } : {}),
  };
}

/** The material in Secret `data`, or undefined when a piece is missing. */
export function fromSecretData(data: Record<string, string> | undefined): TlsMaterial | undefined {
  const caCert = unb64(data?.[SECRET_KEYS.caCert]);
  const caKey = unb64(data?.[SECRET_KEYS.caKey]);
  const cert = unb64(data?.[SECRET_KEYS.cert]);
  const key = unb64(data?.[SECRET_KEYS.key]);
  if (!caCert || !caKey || !cert || !key) return undefined;
  const previousCaPem = unb64(data?.[SECRET_KEYS.previousCa]);
  return { ca: { certPem: caCert, keyPem: caKey }, ...(previousCaPem ? { previousCaPem } : {}), serving: { certPem: cert, keyPem: key } };
}
