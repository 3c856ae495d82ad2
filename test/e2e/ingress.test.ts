// An app behind an `Ingress`, reached the way EndpointSlice-reading ingress controllers reach it: at
// pod IPs from the Service's slices, not its ClusterIP. Asleep, the only slice with ready endpoints is
// Lull's interceptor slice, so the request is held, the app woken and the answer comes back; awake, the
// controller's next request goes to the app's pod directly and the interceptors see nothing of it.
// The controller is a stand-in (support/slice-router.ts): none can be built here (docs/ingress.md).
import { NetworkingV1Api } from '@kubernetes/client-node';
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appService, fixtureApp } from './support/fixture-apps.ts';
import { get } from './support/http.ts';
import { clusterKubectl, kube, onCluster } from './support/kube.ts';
import { pickEndpoints, startSliceRouter, type SliceRouter } from './support/slice-router.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

const APP = 'front';
const HOST = 'front.lull.test';
const CLASS = 'lull-e2e-slices';
/** The address the host's connections to pods come from (the bridge's). */
const GATEWAY = '10.213.0.1';

/** Connections the interceptors have taken, summed over their pods' /metrics. */
async function interceptorConnections(stack: Stack): Promise<number> {
  let total = 0;
  for (const pod of await stack.interceptors()) {
    const text = (await get(`http://${pod.status.podIP}:9940/metrics`)).body;
    for (const [, n] of text.matchAll(/^lull_interceptor_connections_total\{[^}]*\} (\S+)$/gm)) total += Number(n);
  }
  return total;
}

onCluster('an ingress controller in front of a sleeping app', () => {
  let stack: Stack;
  let ns: string;
  let router: SliceRouter;
  const client = () => {
    const k = kube();
    return { core: k.core, discovery: k.discovery, networking: k.kc.makeApiClient(NetworkingV1Api) };
  };
  /** GET /info through the controller, which routes by Host as a real one does; the app answers what it saw. */
  const info = () =>
    new Promise<{ status: number; app: any }>((done, fail) => {
      const req = request(`${router.url}/info`, { headers: { host: HOST }, agent: false, timeout: 120_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => done({ status: res.statusCode ?? 0, app: res.statusCode === 200 ? JSON.parse(body) : body }));
      });
      req.on('timeout', () => req.destroy(new Error('GET /info through the controller timed out')));
      req.on('error', fail);
      req.end();
    });
  const deployment = () => stack.kubectl.json(['get', 'deploy', APP, '-n', ns]);

  beforeAll(async () => {
    stack = await startStack({ scope: 'ingress', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-ing');
    await stack.kubectl.apply(fixtureApp(APP, { namespace: ns, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '2s' } }), appService(APP, ns));
    await stack.kubectl.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: CLASS }, spec: { controller: 'lull.dev/e2e-slice-router' } });
    await stack.kubectl.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: APP, namespace: ns },
      spec: { ingressClassName: CLASS, rules: [{ host: HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: APP, port: { name: 'http' } } } }] } }] },
    });
    // Longer than a wake, shorter than lull.dev/hold-timeout (2m): the setting docs/ingress.md is about.
    router = await startSliceRouter({ ingressClass: CLASS, upstreamTimeoutMs: 90_000, api: client() });
  }, 300_000);

  afterAll(async () => {
    await router?.close();
    if (ns) {
      await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
      await stack.kubectl(['delete', 'ingressclass', CLASS, '--ignore-not-found']).catch(() => undefined);
    }
    await stack?.stop();
  });

  it('routes to the interceptors while the app sleeps: their slice is the one a controller picks', async () => {
    await waitFor(`${APP} to sleep`, async () => (await deployment()).metadata.annotations?.['lull.dev/state'] === 'sleeping', 120_000, 200);
    const { core, discovery } = client();
    const interceptorIps = new Set((await stack.interceptors()).filter((p) => p.status?.podIP).map((p) => p.status.podIP as string));
    const picked = await waitFor('the interceptor slice to have ready endpoints', async () => {
      const service = await core.readNamespacedService({ name: APP, namespace: ns });
      const slices = (await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${APP}` })).items;
      const endpoints = pickEndpoints(service, { name: 'http' }, slices);
      return endpoints.length > 0 ? endpoints : false;
    }, 30_000, 200);
    expect(new Set(picked.map((e) => e.slice))).toEqual(new Set([`${APP}-lull`]));
    for (const e of picked) expect(interceptorIps).toContain(e.address);
  });

  it('holds the request through the controller, wakes the app and answers with the app\'s body', async () => {
    // Stay awake once woken, so the next request finds the app's own endpoints.
    await stack.kubectl(['annotate', '--overwrite', 'deploy', APP, '-n', ns, 'lull.dev/idle-after=1h']);
    const before = router.routed.length;
    const first = await info();
    expect(first.status).toBe(200);
    expect(first.app.name).toBe(APP);
    expect(router.routed[before]!.slice).toBe(`${APP}-lull`);
    // The sidecar names who connected to it: an interceptor pod, which held the request and forwarded it.
    const interceptorIps = (await stack.interceptors()).map((p) => p.status.podIP as string);
    expect(interceptorIps).toContain(first.app.headers['x-forwarded-for']);

    expect((await get(`${router.url}/`)).status).toBe(503); // No Host: no Ingress rule, as with a real controller.
  });

  it('then serves through the controller directly: the app\'s pod, not the interceptor', async () => {
    await waitFor(`${APP} awake and the interceptor slice gone`, async () => {
      if ((await deployment()).metadata.annotations?.['lull.dev/state'] !== 'awake') return false;
      const slices = (await stack.kubectl.json(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${APP}`])).items as any[];
      return slices.every((s) => s.metadata.name !== `${APP}-lull`) && slices.some((s) => s.endpoints?.some((e: any) => e.conditions?.ready));
    }, 60_000, 200);
    const podIp = (await stack.kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${APP}`])).items.find((p: any) => !p.metadata.deletionTimestamp).status.podIP as string;
    const intercepted = await interceptorConnections(stack);

    const second = await info();
    expect(second.status).toBe(200);
    expect(second.app.name).toBe(APP);
    expect(router.routed.at(-1)).toMatchObject({ address: podIp });
    expect(router.routed.at(-1)!.slice).not.toBe(`${APP}-lull`);
    // The sidecar saw the controller's own address this time, and no interceptor took a connection.
    expect(second.app.headers['x-forwarded-for']).toBe(GATEWAY);
    expect(await interceptorConnections(stack)).toBe(intercepted);
  });
});
