import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claim, claimOwner, release } from '../../cluster/claim.ts';
import { clusterLayout } from '../../cluster/layout.ts';
import { busyPorts, componentPorts } from '../../cluster/ports.ts';

describe('claim', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('names the state dir holding the network, and only that one releases it', async () => {
    const run = await mkdtemp(join(tmpdir(), 'lull-run-'));
    dirs.push(run);
    const a = clusterLayout({ LULL_CLUSTER_DIR: '/a' });
    const b = clusterLayout({ LULL_CLUSTER_DIR: '/b' });
    expect(await claimOwner(a, run)).toBeUndefined();
    await claim(a, run);
    expect(await claimOwner(b, run)).toBe('/a');
    await release(b, run);
    expect(await claimOwner(a, run)).toBe('/a');
    await release(a, run);
    expect(await claimOwner(a, run)).toBeUndefined();
  });
});

describe('ports', () => {
  it('lists each component port once', () => {
    const ports = componentPorts(clusterLayout({ LULL_CLUSTER_DIR: '/s' }));
    expect(new Set(ports.map((p) => `${p.host}:${p.port}`)).size).toBe(ports.length);
  });

  it('finds a port something listens on', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const busy = await busyPorts([{ host: '127.0.0.1', port, what: 'taken' }, { host: '127.0.0.1', port: 0, what: 'any' }]);
      expect(busy.map((p) => p.what)).toEqual(['taken']);
    } finally {
      server.close();
    }
  });
});
