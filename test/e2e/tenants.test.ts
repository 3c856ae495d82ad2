// Tenant isolation end to end: a victim namespace with apps asleep behind the interceptor, and a
// hostile tenant who tries what a tenant can do on its own side. It copies the victim's interceptor
// port onto its own Service and points its own EndpointSlice at the interceptor on that port (issue 12
// item 1), lists another namespace's pod in its own Service's slices (item 2), and fills the
// interceptor with idle connections (item 4). The victim's requests must reach only the victim, its
// wake must not be blocked, and nothing of the victim's may reach the hostile tenant.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROUTE_SELECTOR } from '../../core/interceptor-contract.ts';
import { asleepBehindInterceptor } from './support/asleep.ts';
import { appService as service, fixtureApp } from './support/fixture-apps.ts';
import { request, type RequestOptions } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { createNamespace, uniqueName } from './support/namespaces.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

/** Per interceptor replica, scaled down so a test can fill them: the cap, and each namespace's share (25%). */
const CAPS = { total: 20, perNamespace: 5 };
const SECRET_COOKIE = 'session=victim-secret-7f3a';

/** Every request may wait for a wake. */
const call = (url: string, options: RequestOptions = {}) => request(url, { timeoutMs: 90_000, ...options });

const deployment = (name: string, namespace: string, annotations: Record<string, string> | undefined, args: string[] = []) => fixtureApp(name, { namespace, annotations, args });

const asleepAnnotations = (extra: Record<string, string> = {}) => ({ 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...extra });

onCluster('tenant isolation on the local cluster', () => {
  let stack: Stack;
  /** Managed by Lull: the victim's apps, and the hostile tenant's own opted-in apps. */
  let victim: string;
  let hostile: string;
  /** Outside Lull's scope, sorted before the victim (as `aaa-attacker` in the issue): no webhook judges what it writes. */
  let outside: string;

  const asleep = (name: string, ns: string) => asleepBehindInterceptor(stack.kubectl, ns, name, 180_000, 200);

  /** The interceptor port the route records (in Lull's namespace) give a Service. */
  const routedPort = (ns: string, name: string) =>
    waitFor(`a route record for ${ns}/${name}`, async () => {
      const records = (await stack.kubectl.json(['get', 'configmaps', '-n', 'lull-system', '-l', ROUTE_SELECTOR])).items as any[];
      const mine = records.filter((r) => r.data?.namespace === ns && r.data?.service === name);
      return mine.length === 1 ? Number(mine[0].metadata.name.slice('lull-port-'.length)) : false;
    }, 120_000, 200);

  const recordsOf = async (ns: string) => ((await stack.kubectl.json(['get', 'configmaps', '-n', 'lull-system', '-l', ROUTE_SELECTOR])).items as any[]).filter((r) => r.data?.namespace === ns);

  const interceptorIPs = async () => (await stack.interceptors()).filter((p) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).map((p) => p.status.podIP as string);

  const setInterceptorArgs = async (args: string[]) => {
    await stack.kubectl(['patch', 'deploy/lull-interceptor', '-n', 'lull-system', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/args', value: args }])]);
    await stack.kubectl(['rollout', 'status', 'deploy/lull-interceptor', '-n', 'lull-system', '--timeout=180s']);
  };

  beforeAll(async () => {
    stack = await startStack({ scope: 'tenants', kubectl: clusterKubectl() });
    // Small caps, so one tenant can fill a replica in a test; restored in afterAll.
    await setInterceptorArgs(['interceptor', '--max-held-total', String(CAPS.total), '--max-held-per-namespace', `${(CAPS.perNamespace / CAPS.total) * 100}%`]);
    victim = await stack.namespace('lull-e2e-victim');
    hostile = await stack.namespace('lull-e2e-hostile');
    outside = await createNamespace(stack.kubectl, uniqueName('aaa-attacker'));

    const objects = [
      // The victim: two apps that sleep after 1s, and a plain app of its own that Lull does not manage.
      deployment('login', victim, asleepAnnotations()),
      service('login', victim),
      deployment('cart', victim, asleepAnnotations()),
      service('cart', victim),
      deployment('secret', victim, undefined),
      service('secret', victim),
      // The hostile tenant's own opted-in apps: one that wakes normally, one that never gets ready.
      deployment('grab', hostile, asleepAnnotations()),
      service('grab', hostile),
      deployment('hog', hostile, asleepAnnotations({ 'lull.dev/max-held': '50000', 'lull.dev/hold-timeout': '10m' }), ['--delay', '600000']),
      service('hog', hostile),
      // Outside Lull's scope: an app that would love to receive the victim's requests.
      deployment('thief', outside, undefined),
    ];
    for (const o of objects) await stack.kubectl.apply(o);
  }, 600_000);

  afterAll(async () => {
    for (const ns of [victim, hostile, outside]) if (ns) await stack.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    if (stack) await setInterceptorArgs(['interceptor']).catch(() => undefined);
    await stack?.stop();
  }, 300_000);

  it("a copied interceptor port, on the hostile tenant's Service and its own EndpointSlice, gets none of the victim's requests", async () => {
    const ip = await asleep('login', victim);
    const port = await routedPort(victim, 'login');
    const display = (await stack.kubectl.json(['get', 'svc', 'login', '-n', victim])).metadata.annotations['lull.dev/interceptor-ports'];
    expect(JSON.parse(display)).toEqual({ deployment: 'login', ports: { http: port } });

    // The hostile copy: the victim's annotation on a Service of its own, and a slice marked as Lull's
    // that sends that Service to the interceptor pods on the victim's port.
    await stack.kubectl.apply(service('thief', outside, { annotations: { 'lull.dev/interceptor-ports': display }, labels: { 'app.kubernetes.io/part-of': 'lull' } }));
    await stack.kubectl.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'thief-lull', namespace: outside, labels: { 'kubernetes.io/service-name': 'thief', 'endpointslice.kubernetes.io/managed-by': 'reconciler.lull.dev' } },
      addressType: 'IPv4',
      endpoints: (await interceptorIPs()).map((address) => ({ addresses: [address], conditions: { ready: true } })),
      ports: [{ name: 'http', port, protocol: 'TCP' }],
    });
    await waitFor('the thief to be running', async () => (await stack.kubectl.json(['get', 'deploy', 'thief', '-n', outside])).status?.readyReplicas >= 1, 120_000, 200);

    // The victim's request, with its cookie, to its own Service: only the victim answers, woken for it.
    const reply = await call(`http://${ip}/info`, { method: 'POST', headers: { Cookie: SECRET_COOKIE } });
    expect(reply.status).toBe(200);
    const info = JSON.parse(reply.body);
    expect(info.name).toBe('login');
    expect(info.headers.cookie).toBe(SECRET_COOKIE);
    expect((await stack.kubectl.json(['get', 'deploy', 'login', '-n', victim])).spec.replicas).toBeGreaterThanOrEqual(1);
    // The port is still the victim's alone, and the copy earned the hostile Service no record of its own.
    expect(await routedPort(victim, 'login')).toBe(port);
    expect(await recordsOf(outside)).toEqual([]);
  });

  it("forwards a woken hostile app's connections only to its own pods, never to another namespace's pod listed in its slices", async () => {
    await asleep('grab', hostile);
    const port = await routedPort(hostile, 'grab');
    const secretPod = await waitFor('the victim\'s plain app to run', async () => {
      const pods = (await stack.kubectl.json(['get', 'pods', '-n', victim, '-l', 'app=secret'])).items as any[];
      return pods.find((p) => p.status?.podIP && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000, 200);
    // What a tenant can write in its own namespace: a slice for its own Service listing the victim's pod,
    // with a targetRef naming it and one with none at all, both ready at once (its own pod is not, yet).
    await stack.kubectl.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'grab-extra', namespace: hostile, labels: { 'kubernetes.io/service-name': 'grab', 'endpointslice.kubernetes.io/managed-by': 'by-hand.tenant.example' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: [secretPod.status.podIP], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: victim, name: secretPod.metadata.name, uid: secretPod.metadata.uid } },
        { addresses: [secretPod.status.podIP], conditions: { ready: true } },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    // Straight to each interceptor replica on grab's port, as kube-proxy sends grab's ClusterIP there
    // (the ClusterIP itself would also reach the victim's pod through the extra slice, without Lull).
    const replies = await Promise.all((await interceptorIPs()).flatMap((address) => [call(`http://${address}:${port}/`), call(`http://${address}:${port}/`)]));
    expect(replies.map((r) => `${r.status} ${r.body.trim()}`)).toEqual(replies.map(() => '200 hello from grab'));
  });

  it("one namespace filling its share of the interceptor with idle connections does not stop the victim's wake", async () => {
    const [hogIp, cartIp] = await Promise.all([asleep('hog', hostile), asleep('cart', victim)]);
    const replicas = await interceptorIPs();
    const metrics = async (address: string) => (await call(`http://${address}:9940/metrics`)).body;
    const held = async (address: string) => Number(/^lull_interceptor_held_connections (\d+)/m.exec(await metrics(address))?.[1] ?? 0);

    // Three times what both replicas' caps hold, so that without a share each replica would be full.
    const refusals: string[] = [];
    const sockets: Socket[] = [];
    for (let i = 0; i < CAPS.total * 3; i++) {
      const socket = connect(80, hogIp);
      socket.on('error', () => {});
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => refusals.push(text));
      socket.write('GET / HTTP/1.1\r\nHost: hog\r\n\r\n');
      sockets.push(socket);
    }
    try {
      await waitFor('each replica to hold exactly its namespace share for the hostile tenant', async () => (await Promise.all(replicas.map(held))).every((n) => n === CAPS.perNamespace), 30_000, 100);
      await waitFor('every connection past the share to be answered', () => refusals.length === CAPS.total * 3 - CAPS.perNamespace * replicas.length, 30_000, 100);
      for (const text of refusals) {
        expect(text).toMatch(/^HTTP\/1\.1 503 /);
        expect(text).toContain('Retry-After: 1');
        expect(text).toContain(`LULL_NAMESPACE_FULL: namespace ${hostile} already has ${CAPS.perNamespace} connections held on this interceptor, its share (--max-held-per-namespace)`);
      }

      // The victim is woken and served meanwhile, whichever replica its requests reach.
      const replies = await Promise.all(Array.from({ length: 4 }, () => call(`http://${cartIp}/`)));
      expect(replies.map((r) => `${r.status} ${r.body.trim()}`)).toEqual(replies.map(() => '200 hello from cart'));
      for (const address of replicas) expect(await metrics(address)).not.toMatch(/lull_interceptor_connections_total\{outcome="refused_full"\} [1-9]/);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
