import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterLayout } from '../../cluster/layout.ts';
import { certificatePlan, ensurePki, kubeconfigPath, leavesToIssue, pkiPaths, specOf, type LeafState } from '../../cluster/pki.ts';

const layout = clusterLayout({ LULL_CLUSTER_DIR: '/state' });

describe('certificatePlan', () => {
  const plan = new Map(certificatePlan(layout).map((p) => [p.name, p.options]));

  it('gives the apiserver every name it is reached by', () => {
    const apiserver = plan.get('apiserver')!;
    expect(apiserver.ipAddresses).toEqual(expect.arrayContaining(['10.213.0.1', '127.0.0.1', '10.214.0.1']));
    expect(apiserver.dnsNames).toEqual(
      expect.arrayContaining(['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost']),
    );
  });

  it('uses the identities Kubernetes authorizes', () => {
    expect(plan.get('admin')).toMatchObject({ organizations: ['system:masters'], usage: 'client' });
    expect(plan.get('kube-controller-manager')!.commonName).toBe('system:kube-controller-manager');
    expect(plan.get('kube-scheduler')!.commonName).toBe('system:kube-scheduler');
    expect(plan.get('kube-proxy')!.commonName).toBe('system:kube-proxy');
    expect(plan.get('kubelet')).toMatchObject({ commonName: 'system:node:lull-node', organizations: ['system:nodes'] });
  });
});

describe('leavesToIssue', () => {
  const plan = certificatePlan(layout);
  const now = new Date('2030-01-01T00:00:00Z');
  const fresh = (name: string): LeafState => ({ present: true, spec: specOf(plan.find((p) => p.name === name)!), expiresAt: new Date('2031-01-01T00:00:00Z') });
  const allFresh = () => new Map(plan.map((p) => [p.name, fresh(p.name)]));

  it('reuses what is present, unchanged and valid', () => {
    expect(leavesToIssue(plan, allFresh(), false, now)).toEqual([]);
  });

  it('reissues everything under a new CA', () => {
    expect(leavesToIssue(plan, allFresh(), true, now)).toEqual(plan.map((p) => p.name));
  });

  it('reissues what is missing, changed or about to expire', () => {
    const state = allFresh();
    state.set('admin', { present: false });
    state.set('apiserver', { ...fresh('apiserver'), spec: '{"commonName":"old"}' });
    state.set('kube-proxy', { ...fresh('kube-proxy'), expiresAt: new Date('2030-01-01T12:00:00Z') });
    expect(leavesToIssue(plan, state, false, now).sort()).toEqual(['admin', 'apiserver', 'kube-proxy']);
  });
});

describe('ensurePki', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('creates the PKI and kubeconfigs once, then reuses them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lull-pki-'));
    dirs.push(dir);
    const l = clusterLayout({ LULL_CLUSTER_DIR: dir });
    const first = await ensurePki(l);
    expect(first).toEqual(expect.arrayContaining(['ca', 'service-account keys', 'apiserver', 'admin', 'kubelet']));
    const paths = pkiPaths(l);
    const cert = new X509Certificate(await readFile(paths.cert('apiserver'), 'utf8'));
    expect(cert.subjectAltName).toContain('IP Address:10.214.0.1');
    expect(cert.checkIssued(new X509Certificate(await readFile(paths.caCert, 'utf8')))).toBe(true);
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);

    const admin = parse(await readFile(kubeconfigPath(l, 'admin'), 'utf8'));
    expect(admin.clusters[0].cluster.server).toBe('https://10.213.0.1:6443');
    const kubelet = new X509Certificate(Buffer.from(parse(await readFile(kubeconfigPath(l, 'kubelet'), 'utf8')).users[0].user['client-certificate-data'], 'base64'));
    expect(kubelet.subject).toContain('CN=system:node:lull-node');
    expect(kubelet.subject).toContain('O=system:nodes');

    expect(await ensurePki(l)).toEqual([]);
  });
});
