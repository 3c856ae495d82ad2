// The cluster's PKI: one CA, serving certificates, a client certificate per component identity, the
// service-account signing keys, and a kubeconfig per identity. Kept across restarts of a state dir.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateExpiry, createCA, createKeyPair, issueCert, type IssueOptions, type KeyAndCert } from '../../core/certs.ts';
import { apiserverUrl, renderKubeconfig } from './kubeconfig.ts';
import { clusterFiles, type ClusterLayout } from './layout.ts';

export interface CertPlan {
  name: string;
  options: IssueOptions;
}

/** Identities that get a kubeconfig, each named after the component that uses it. */
export const KUBECONFIG_IDENTITIES = ['admin', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubelet'] as const;
export type KubeconfigIdentity = (typeof KUBECONFIG_IDENTITIES)[number];

/** Every leaf certificate, with the identity Kubernetes reads from it (CN = user, O = groups). */
export function certificatePlan(layout: ClusterLayout): CertPlan[] {
  const hostServing = (commonName: string): IssueOptions => ({
    commonName,
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: [layout.gateway, '127.0.0.1'],
  });
  return [
    {
      name: 'apiserver',
      options: {
        commonName: 'kube-apiserver',
        usage: 'server',
        dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
        ipAddresses: [layout.gateway, '127.0.0.1', layout.kubernetesServiceIP],
      },
    },
    { name: 'kube-controller-manager-serving', options: hostServing('kube-controller-manager') },
    { name: 'kube-scheduler-serving', options: hostServing('kube-scheduler') },
    { name: 'apiserver-kubelet-client', options: { commonName: 'kube-apiserver-kubelet-client', usage: 'client' } },
    { name: 'admin', options: { commonName: 'lull-admin', organizations: ['system:masters'], usage: 'client' } },
    { name: 'kube-controller-manager', options: { commonName: 'system:kube-controller-manager', usage: 'client' } },
    { name: 'kube-scheduler', options: { commonName: 'system:kube-scheduler', usage: 'client' } },
    // Bound to the system:node-proxier ClusterRole by the apiserver's bootstrap policy.
    { name: 'kube-proxy', options: { commonName: 'system:kube-proxy', usage: 'client' } },
    // The Node authorizer and NodeRestriction read this exact form.
    { name: 'kubelet', options: { commonName: `system:node:${layout.nodeName}`, organizations: ['system:nodes'], usage: 'client' } },
  ];
}

export function pkiPaths(layout: ClusterLayout) {
  const dir = clusterFiles(layout).pki;
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    specs: join(dir, 'specs.json'),
    cert: (name: string) => join(dir, `${name}.crt`),
    key: (name: string) => join(dir, `${name}.key`),
  };
}

export function kubeconfigPath(layout: ClusterLayout, identity: KubeconfigIdentity): string {
  return identity === 'admin' ? clusterFiles(layout).adminKubeconfig : join(clusterFiles(layout).kubeconfigs, `${identity}.kubeconfig`);
}

/** What a leaf's issuance depends on; a change (say, a new SAN) means reissuing it. */
export function specOf(plan: CertPlan): string {
  return JSON.stringify(plan.options);
}

export interface LeafState {
  present: boolean;
  /** The spec it was issued from, if recorded. */
  spec?: string;
  expiresAt?: Date;
}

/** Leaves to (re)issue: missing, changed, expiring within a day, or all of them under a new CA. */
export function leavesToIssue(plan: readonly CertPlan[], state: ReadonlyMap<string, LeafState>, newCA: boolean, now = new Date()): string[] {
  const soon = now.getTime() + 86_400_000;
  return plan
    .filter((p) => {
      const s = state.get(p.name);
      if (newCA || s === undefined || !s.present) return true;
      if (s.spec !== specOf(p)) return true;
      return s.expiresAt === undefined || s.expiresAt.getTime() < soon;
    })
    .map((p) => p.name);
}

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
}

async function readKeyAndCert(certPath: string, keyPath: string): Promise<KeyAndCert> {
  return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}

/** Creates what is missing or stale, reuses the rest; returns the names it issued. */
export async function ensurePki(layout: ClusterLayout): Promise<string[]> {
  const paths = pkiPaths(layout);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const issued: string[] = [];

  const newCA = !(existsSync(paths.caCert) && existsSync(paths.caKey)) || certificateExpiry(await readFile(paths.caCert, 'utf8')).getTime() < Date.now() + 86_400_000;
  if (newCA) {
    const ca = createCA('lull-cluster-ca');
    await writeFile(paths.caCert, ca.certPem);
    await writeSecret(paths.caKey, ca.keyPem);
    issued.push('ca');
  }
  const ca = await readKeyAndCert(paths.caCert, paths.caKey);

  if (!(existsSync(paths.saKey) && existsSync(paths.saPub))) {
    const sa = createKeyPair();
    await writeSecret(paths.saKey, sa.privateKeyPem);
    await writeFile(paths.saPub, sa.publicKeyPem);
    issued.push('service-account keys');
  }

  const plan = certificatePlan(layout);
  const storedSpecs: Record<string, string> = existsSync(paths.specs) ? (JSON.parse(await readFile(paths.specs, 'utf8')) as Record<string, string>) : {};
  const state = new Map<string, LeafState>();
  for (const p of plan) {
    const present = existsSync(paths.cert(p.name)) && existsSync(paths.key(p.name));
    state.set(p.name, {
      present,
      spec: storedSpecs[p.name],
      expiresAt: present ? certificateExpiry(await readFile(paths.cert(p.name), 'utf8')) : undefined,
    });
  }
  for (const name of leavesToIssue(plan, state, newCA)) {
    const p = plan.find((x) => x.name === name)!;
    const leaf = issueCert(ca, p.options);
    await writeFile(paths.cert(name), leaf.certPem);
    await writeSecret(paths.key(name), leaf.keyPem);
    storedSpecs[name] = specOf(p);
    issued.push(name);
  }
  await writeFile(paths.specs, `${JSON.stringify(storedSpecs, null, 2)}\n`);
  await writeKubeconfigs(layout);
  return issued;
}

/** One kubeconfig per identity; the admin one at clusterFiles().adminKubeconfig. */
export async function writeKubeconfigs(layout: ClusterLayout): Promise<void> {
  const paths = pkiPaths(layout);
  await mkdir(clusterFiles(layout).kubeconfigs, { recursive: true, mode: 0o700 });
  const caPem = await readFile(paths.caCert, 'utf8');
  for (const identity of KUBECONFIG_IDENTITIES) {
    const leaf = await readKeyAndCert(paths.cert(identity), paths.key(identity));
    const text = renderKubeconfig({ name: identity === 'admin' ? 'lull' : `lull-${identity}`, server: apiserverUrl(layout), caPem, certPem: leaf.certPem, keyPem: leaf.keyPem });
    await writeSecret(kubeconfigPath(layout, identity), text);
  }
}
