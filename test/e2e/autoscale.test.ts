// Request-based scaling end to end on the local cluster: the webhook, the sidecars' per-second load, the
// reconciler's autoscaler (a host process) and the interceptor pods. A fixture app takes 200 ms per
// request; short windows come from the app's annotations (stable-window 6s, scale-down-delay 5s).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClients, tally } from './support/clients.ts';
import { appService, applyApps, FIXTURE_APP, fixtureApp } from './support/fixture-apps.ts';
import { get } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { lullCli } from './support/lull-on-host.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

function app(name: string, annotations: Record<string, string>) {
  // No --name: the fixture names itself after its pod (HOSTNAME), so each answer says which pod served it.
  return { deployment: fixtureApp(name, { annotations: { 'lull.dev/enabled': 'true', ...annotations }, command: ['node', FIXTURE_APP, '--port', '8080'] }), service: appService(name) };
}

const APPS = {
  busy: app('busy', {
    'lull.dev/target-concurrency': '5',
    'lull.dev/max-replicas': '20',
    'lull.dev/stable-window': '6s',
    'lull.dev/scale-down-delay': '5s',
    'lull.dev/idle-after': '30s',
  }),
  // min-replicas 1: never sleeps, so it is awake whenever its test runs.
  scaled: app('scaled', { 'lull.dev/target-concurrency': '1', 'lull.dev/min-replicas': '1', 'lull.dev/stable-window': '6s' }),
};

onCluster('request-based scaling on the local cluster', () => {
  let stack: Stack;
  let ns: string;

  const deployment = (name: string) => stack.kubectl.json(['get', 'deploy', name, '-n', ns]);
  const events = async (name: string, reason: string) =>
    ((await stack.kubectl.json(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items as any[]);

  /** Awake with its Service through the sidecar: returns the ClusterIP. */
  const awake = (name: string, replicas = 1) =>
    waitFor(`${name} to be awake behind its sidecar`, async () => {
      const d = await deployment(name);
      if (d.metadata.annotations?.['lull.dev/state'] !== 'awake' || d.spec.replicas !== replicas || (d.status?.readyReplicas ?? 0) !== replicas || (d.status?.updatedReplicas ?? 0) !== replicas) return false;
      if ((d.status?.replicas ?? 0) !== replicas) return false;
      // The onboarding rollout's pod without the sidecar must be gone, and kube-proxy past it: a few requests all answer.
      const pods = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items as any[];
      if (pods.length !== replicas || pods.some((p) => p.metadata.deletionTimestamp)) return false;
      const svc = await stack.kubectl.json(['get', 'svc', name, '-n', ns]);
      if (svc.spec.ports[0].targetPort !== 'lull-8080') return false;
      for (let i = 0; i < 10; i++) if ((await get(`http://${svc.spec.clusterIP}/`)).status !== 200) return false;
      return svc.spec.clusterIP as string;
    }, 180_000, 200);

  /** Samples spec.replicas every 250 ms until stopped: the overshoot and the oscillation are read from it. */
  function watchReplicas(name: string) {
    const trace: Array<{ at: number; spec: number; ready: number }> = [];
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        const d = await deployment(name).catch(() => undefined);
        if (d) trace.push({ at: Date.now(), spec: d.spec.replicas, ready: d.status?.readyReplicas ?? 0 });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    return {
      trace,
      stop: async () => {
        stopped = true;
        await done;
      },
    };
  }

  beforeAll(async () => {
    stack = await startStack({ scope: 'autoscale', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-autoscale');
    await applyApps(stack.kubectl, ns, Object.values(APPS));
  }, 300_000);

  afterAll(async () => {
    if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack?.stop();
  });

  it('a step from 0 to 50 clients (200 ms each) with target 5 reaches 10 replicas (11 at most), holds steady, and every request succeeds', async () => {
    const ip = await awake('busy');
    const first = ((await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', 'app=busy'])).items as any[]).map((p) => p.metadata.name as string);
    const replicas = watchReplicas('busy');
    const clients = startClients(`http://${ip}/slow?ms=200`, 50);
    try {
      await waitFor('10 ready replicas of busy', async () => (replicas.trace.at(-1)?.ready ?? 0) >= 10, 180_000, 100);
      const readyAt = Date.now();
      // Steady load: the count must hold (no oscillation) for a while.
      await new Promise((r) => setTimeout(r, 12_000));
      await clients.stop();
      await replicas.stop();
      const { total, failed } = tally(clients);
      expect({ failed, failures: clients.failures }).toEqual({ failed: 0, failures: [] });
      expect(total).toBeGreaterThan(500);
      // 50 clients on a target of 5 sit exactly on the 10/11 boundary, and in-flight is sampled per pod:
      // one replica over is measurement, not overshoot. Steady means no flapping: at most one step, never down.
      const specs = replicas.trace.map((s) => s.spec);
      expect(Math.max(...specs)).toBeGreaterThanOrEqual(10);
      expect(Math.max(...specs)).toBeLessThanOrEqual(11);
      const steady = replicas.trace.filter((s) => s.at >= readyAt).map((s) => s.spec);
      const changes = steady.filter((spec, i) => i > 0 && spec !== steady[i - 1]);
      expect(steady.some((spec, i) => i > 0 && spec < steady[i - 1]!)).toBe(false);
      expect(changes.length).toBeLessThanOrEqual(1);
      // The new replicas served requests.
      expect(clients.firstServedAt.size).toBeGreaterThanOrEqual(10);
      // The figures bench/autoscale.ts --step measures, for the record.
      const at = (f: (s: (typeof replicas.trace)[number]) => boolean) => ((replicas.trace.find(f)?.at ?? NaN) - clients.started) / 1000;
      const newServed = Math.min(...[...clients.firstServedAt].filter(([pod]) => !first.includes(pod)).map(([, t]) => t));
      process.stderr.write(`autoscale step: spec 10 after ${at((s) => s.spec >= 10)}s, 10 ready after ${at((s) => s.ready >= 10)}s, first request on a new replica after ${(newServed - clients.started) / 1000}s, ${total} requests\n`);
      const up = await events('busy', 'ScaledUp');
      expect(up.length).toBeGreaterThan(0);
      // Events list in no particular order within a second: the first scale is the one from 1.
      expect(up.map((e) => e.message)).toContainEqual(expect.stringMatching(/^Scaled from 1 to \d+: panic: [\d.]+ in flight over the last 1s for a target of 5 per pod$/));
    } finally {
      await clients.stop();
      await replicas.stop();
    }
  }, 300_000);

  it('with the load gone it scales back to one replica after the windows and the delay, then sleeps after idle-after', async () => {
    await waitFor('busy to scale back to 1', async () => (await deployment('busy')).spec.replicas === 1, 180_000, 500);
    const down = await events('busy', 'ScaledDown');
    expect(down.length).toBeGreaterThan(0);
    expect(down.map((e) => e.message).join('\n')).toMatch(/Scaled from \d+ to \d+: 0 in flight over the last 6s/);
    await waitFor('busy to sleep', async () => {
      const d = await deployment('busy');
      return d.spec.replicas === 0 && d.metadata.annotations?.['lull.dev/state'] === 'sleeping';
    }, 180_000, 500);
    expect((await events('busy', 'Slept')).length).toBe(1);
  }, 400_000);

  it('an app an HorizontalPodAutoscaler scales is left to it, with one Event, and lull status says so', async () => {
    const ip = await awake('scaled');
    await stack.kubectl.apply({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'scaled-cpu', namespace: ns },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' }, minReplicas: 1, maxReplicas: 2, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] },
    });
    await waitFor('the AutoscaleYielded Event', async () => (await events('scaled', 'AutoscaleYielded')).length > 0, 60_000, 250);
    // 10 in flight for target 1 would ask for 10 replicas: Lull must not move.
    const clients = startClients(`http://${ip}/slow?ms=200`, 10);
    await new Promise((r) => setTimeout(r, 8000));
    await clients.stop();
    expect(tally(clients).failed).toBe(0);
    expect((await deployment('scaled')).spec.replicas).toBe(1);
    expect(await events('scaled', 'ScaledUp')).toEqual([]);
    const yielded = await events('scaled', 'AutoscaleYielded');
    expect(yielded.map((e) => [e.count ?? 1, e.message])).toEqual([[1, 'HorizontalPodAutoscaler scaled-cpu scales this Deployment: Lull leaves 1 to N to it and only sleeps and wakes the app']]);

    const { stdout } = await lullCli(stack.kubectl.kubeconfig)('status', '-n', ns, '-o', 'wide');
    const row = stdout.split('\n').find((l) => l.startsWith('scaled '));
    expect(row).toMatch(/1 in flight\s+-\s+HPA scaled-cpu$/);
    expect(stdout).toContain('scaled: HorizontalPodAutoscaler scaled-cpu scales this Deployment');
  }, 300_000);
});
