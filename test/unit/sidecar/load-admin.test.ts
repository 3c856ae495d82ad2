// The sidecar's per-second load as the reconciler reads it: a real sidecar in front of a real app,
// requests in flight, and the reconciler's own reader (reconciler/autoscale/load.ts) asking /lull/activity.
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReader } from '../../../reconciler/autoscale/load.ts';
import { HOST, sidecarFor } from './helpers.ts';

describe('per-second load on the admin port', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('reports the average in flight and the request rate of the last full second', async () => {
    // Every request takes 300 ms.
    const app = createServer((_req, res) => setTimeout(() => res.end('ok'), 300));
    app.listen(0, HOST);
    await once(app, 'listening');
    cleanups.push(() => new Promise((r) => app.close(r)));
    const sidecar = await sidecarFor([(app.address() as AddressInfo).port]);
    cleanups.push(() => sidecar.close());
    const reader = loadReader(1000);
    cleanups.push(() => reader.close());
    const pod = { metadata: { name: 'p', namespace: 'n', uid: 'p', resourceVersion: '1' }, ip: HOST, ready: true, adminPort: sidecar.adminPort };

    // 4 closed-loop clients for 2.5 s: 4 in flight throughout, about 13 requests a second (bounds loose: a shared machine).
    let running = true;
    const clients = Array.from({ length: 4 }, async () => {
      while (running) await fetch(`http://${HOST}:${sidecar.port}/`).then((r) => r.text());
    });
    await new Promise((r) => setTimeout(r, 2500));
    const answer = await reader.read(pod);
    running = false;
    await Promise.all(clients);
    expect('error' in answer).toBe(false);
    if ('error' in answer) return;
    expect(answer.load).toBeDefined();
    expect(answer.load!.concurrency).toBeGreaterThanOrEqual(2.5);
    expect(answer.load!.concurrency).toBeLessThanOrEqual(4.5);
    expect(answer.load!.rps).toBeGreaterThanOrEqual(4);
    expect(answer.load!.rps).toBeLessThanOrEqual(16);
  });
});
