// Start-up order: listeners and the probe first, the metrics library after the wake, and the boot
// timings a cold-start breakdown reads from /lull/activity.
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../../fixtures/http-app.ts';
import { DeferredMetrics } from '../../../sidecar/deferred-metrics.ts';
import { createMetrics } from '../../../sidecar/metrics.ts';
import { Activity } from '../../../sidecar/activity.ts';
import { ClientSockets } from '../../../sidecar/clients.ts';
import { freePort, HOST, sidecarFor, type TestSidecar } from './helpers.ts';

describe('DeferredMetrics', () => {
  it('keeps what the hot path records before the library loads, and replays it', async () => {
    let loads = 0;
    const metrics = new DeferredMetrics(async () => {
      loads++;
      return createMetrics(new Activity(), new ClientSockets(), () => true);
    });
    metrics.connection('http1');
    metrics.observe(200, 0.002);
    metrics.observe(503, 0.5);
    metrics.connection('tcp');
    metrics.refused('LULL_MALFORMED_REQUEST');
    expect(metrics.loaded).toBe(false);
    const exposition = metrics.exposition();
    const text = await exposition.metrics();
    expect(metrics.loaded).toBe(true);
    expect(exposition.contentType).toContain('text/plain');
    expect(text).toMatch(/lull_sidecar_requests_total\{status_class="2xx"\} 1/);
    expect(text).toMatch(/lull_sidecar_requests_total\{status_class="5xx"\} 1/);
    expect(text).toMatch(/lull_sidecar_connections_total\{protocol="http1"\} 1/);
    expect(text).toMatch(/lull_sidecar_connections_total\{protocol="tcp"\} 1/);
    expect(text).toMatch(/lull_sidecar_request_duration_seconds_count 2/);
    expect(text).toMatch(/lull_sidecar_refusals_total\{code="LULL_MALFORMED_REQUEST"\} 1/);
    // After loading, straight through; and loaded once however often asked.
    metrics.observe(200, 0.001);
    await metrics.attach();
    expect(await exposition.metrics()).toMatch(/lull_sidecar_requests_total\{status_class="2xx"\} 2/);
    expect(loads).toBe(1);
  });
});

describe('sidecar start-up', () => {
  let app: HttpApp | undefined;
  let sidecar: TestSidecar | undefined;
  afterEach(async () => {
    await sidecar?.close(0);
    await app?.close();
    sidecar = app = undefined;
  });

  it('records process start, listening and the app first ready, in that order, in /lull/activity', async () => {
    const port = await freePort();
    sidecar = await sidecarFor([port]);
    expect(sidecar.boot.listeningAt).toBeGreaterThan(sidecar.boot.processStartedAt);
    expect(sidecar.boot.appReadyAt).toBe(0);
    app = await startHttpApp({ port, name: 'late' });
    expect(await (await sidecar.admin('/lull/wait-ready?timeout=5s')).json()).toMatchObject({ ready: true });
    const { boot } = (await (await sidecar.admin('/lull/activity')).json()) as { boot: { processStartedAt: number; listeningAt: number; appReadyAt: number } };
    expect(boot.appReadyAt).toBeGreaterThanOrEqual(boot.listeningAt);
    // Seen after the app listened, not before (how soon is bench/coldstart.ts's to measure); 5 ms: the
    // sidecar's performance clock and the app's Date.now may drift apart by a little.
    expect(boot.appReadyAt).toBeGreaterThan(app.listeningAt - 5);
  });

  it('is past its wake, with the metrics library loaded, once /metrics is asked for', async () => {
    app = await startHttpApp({ port: await freePort(), name: 'up' });
    sidecar = await sidecarFor([app.port]);
    let over = false;
    void sidecar.afterWake.then(() => (over = true));
    await new Promise((r) => setImmediate(r));
    expect(over).toBe(false);
    const res = await fetch(`http://${HOST}:${sidecar.adminPort}/metrics`);
    expect(res.status).toBe(200);
    await sidecar.afterWake;
  });
});
