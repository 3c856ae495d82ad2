import { describe, expect, it } from 'vitest';
import { parseVersionsEnv, readPinnedVersions, versionArgs, versionFromOutput, versionMatches } from '../../cluster/versions.ts';

describe('parseVersionsEnv', () => {
  it('reads the pinned versions, skipping comments and quotes', () => {
    const text = '# pinned\nKUBERNETES_VERSION=v1.36.3\n\nexport ETCD_VERSION="v3.6.8" # tested together\n';
    expect(parseVersionsEnv(text)).toEqual({ kubernetes: 'v1.36.3', etcd: 'v3.6.8' });
  });

  it('names the missing key', () => {
    expect(() => parseVersionsEnv('KUBERNETES_VERSION=v1.36.3\n')).toThrow(/ETCD_VERSION/);
  });

  it('reads the repository file', async () => {
    const pinned = await readPinnedVersions();
    expect(pinned.kubernetes).toMatch(/^v1\.\d+\.\d+$/);
    expect(pinned.etcd).toMatch(/^v3\.\d+\.\d+$/);
  });
});

describe('versionFromOutput', () => {
  it('reads each binary format', () => {
    expect(versionFromOutput('kube-apiserver', 'Kubernetes v1.36.3\n')).toBe('v1.36.3');
    expect(versionFromOutput('kube-proxy', 'Kubernetes v1.36.3\n')).toBe('v1.36.3');
    expect(versionFromOutput('kubectl', 'Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0\n')).toBe('v1.32.4-dispatcher');
    expect(versionFromOutput('etcd', 'etcd Version: 3.6.8\nGit SHA: abc\nGo Version: go1.26.8\n')).toBe('v3.6.8');
  });

  it('is undefined for output it does not know', () => {
    expect(versionFromOutput('kube-scheduler', 'flag provided but not defined: -version')).toBeUndefined();
  });

  it('asks kubectl with `version --client`, the others with --version', () => {
    expect(versionArgs('kubectl')).toEqual(['version', '--client']);
    expect(versionArgs('etcd')).toEqual(['--version']);
  });
});

describe('versionMatches', () => {
  it('accepts the same release, with or without v, and build metadata', () => {
    expect(versionMatches('v1.36.3', 'v1.36.3')).toBe(true);
    expect(versionMatches('3.6.8', 'v3.6.8')).toBe(true);
    expect(versionMatches('v1.36.3+k3s1', 'v1.36.3')).toBe(true);
  });

  it('refuses other releases and vendor or pre-release suffixes', () => {
    expect(versionMatches('v1.32.4-dispatcher', 'v1.36.3')).toBe(false);
    expect(versionMatches('v1.36.3-dispatcher', 'v1.36.3')).toBe(false);
    expect(versionMatches('v1.36.30', 'v1.36.3')).toBe(false);
    expect(versionMatches('v1.36.2', 'v1.36.3')).toBe(false);
  });
});
