import { describe, expect, it } from 'vitest';
import { choosePodLog, parseLogTarget, resolveLogFile } from '../../cluster/logs.ts';
import { clusterLayout } from '../../cluster/layout.ts';

describe('parseLogTarget', () => {
  it('tells pods from components', () => {
    expect(parseLogTarget('kube-apiserver')).toEqual({ kind: 'component', name: 'kube-apiserver' });
    expect(parseLogTarget('default/web-1', 'app')).toEqual({ kind: 'pod', namespace: 'default', pod: 'web-1', container: 'app' });
  });
});

describe('choosePodLog', () => {
  it('picks the only container, or the one named', () => {
    expect(choosePodLog(['app.log'], undefined)).toEqual({ file: 'app.log' });
    expect(choosePodLog(['app.log', 'lull-sidecar.log'], 'lull-sidecar')).toEqual({ file: 'lull-sidecar.log' });
  });

  it('lists the containers when it cannot choose', () => {
    expect(choosePodLog(['app.log', 'lull-sidecar.log'], undefined)).toEqual({ problem: expect.stringContaining('app, lull-sidecar') });
    expect(choosePodLog(['app.log'], 'web')).toEqual({ problem: expect.stringContaining('no container web') });
    expect(choosePodLog([], undefined)).toEqual({ problem: expect.stringContaining('no container') });
  });
});

describe('resolveLogFile', () => {
  const layout = clusterLayout({ LULL_CLUSTER_DIR: '/state' });

  it('finds a component log and refuses unknown names', async () => {
    expect(await resolveLogFile(layout, { kind: 'component', name: 'etcd' })).toBe('/state/logs/etcd.log');
    await expect(resolveLogFile(layout, { kind: 'component', name: 'coredns' })).rejects.toThrow(/not a component/);
  });

  it('says when a pod never ran here', async () => {
    await expect(resolveLogFile(layout, { kind: 'pod', namespace: 'default', pod: 'web' })).rejects.toThrow(/default\/web/);
  });
});
