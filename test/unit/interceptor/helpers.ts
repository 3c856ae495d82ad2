// In-process harness for the interceptor: sockets on 127.0.0.1, and a fake cluster whose watches the
// test drives (what the Kubernetes side of the interceptor reads) and whose writes it records.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { CoreV1Event, V1ConfigMap, V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { buildRouteRecord } from '../../../core/interceptor-contract.ts';
import { KubeApiError } from '../../../core/kube-client.ts';
import { startInterceptor, type RunningInterceptor } from '../../../interceptor/interceptor.ts';
import type { ClusterApi, Watched } from '../../../interceptor/kube.ts';

export const HOST = '127.0.0.1';
export const silentLog = pino({ level: process.env.LULL_TEST_DEBUG ? 'debug' : 'silent' });

/** A server that accepts paused, as the interceptor's listeners do; resolves each accepted socket in turn. */
export async function pausedServer(): Promise<{ port: number; next(): Promise<Socket>; close(): Promise<void> }> {
  const queue: Socket[] = [];
  const waiters: Array<(s: Socket) => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const waiter = waiters.shift();
    if (waiter) waiter(socket);
    else queue.push(socket);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const s = queue.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export async function listening(server: Server): Promise<number> {
  if (!server.listening) {
    server.listen(0, HOST);
    await once(server, 'listening');
  }
  return (server.address() as AddressInfo).port;
}

/** A TCP echo server; optionally greets first (a server-speaks-first protocol). */
export async function echoServer(): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { port: 0, connections: 0, close: async () => {} };
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  state.port = await listening(server);
  state.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** Connects, writes `data`, half-closes if asked, and resolves everything received until the server closes. */
export function exchange(port: number, data: string | Buffer, options: { end?: boolean } = {}): Promise<{ received: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (error = (err as NodeJS.ErrnoException).code ?? err.message));
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), ...(error ? { error } : {}) }));
    socket.on('end', () => socket.end());
    socket.write(data);
    if (options.end) socket.end();
  });
}

export function get(port: number, path = '/', extra = ''): Promise<{ received: Buffer; error?: string }> {
  return exchange(port, `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n${extra}\r\n`);
}

export function statusOf(response: Buffer): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(response.toString('latin1'))?.[1] ?? 0);
}

export function bodyOf(response: Buffer): string {
  const text = response.toString('utf8');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

// --- a fake cluster ---

class FakeWatch<T> implements Watched<T> {
  synced = false;
  hasSynced(): boolean {
    return this.synced;
  }
  stopped = false;
  items: T[] = [];
  readonly onChange: () => void;
  readonly filter: (item: T) => boolean;
  constructor(onChange: () => void, filter: (item: T) => boolean) {
    this.onChange = onChange;
    this.filter = filter;
  }
  list(): T[] {
    return this.items;
  }
  push(all: readonly T[]): void {
    if (this.stopped) return;
    this.items = all.filter(this.filter);
    this.synced = true;
    this.onChange();
  }
  stop(): void {
    this.stopped = true;
  }
}

const ns = (o: { metadata?: { namespace?: string } }) => o.metadata?.namespace;

/** The world as the apiserver would list it; watches see every change on the next tick. */
export class FakeCluster {
  /** The route records in Lull's namespace. */
  routes: V1ConfigMap[] = [];
  deployments: V1Deployment[] = [];
  pods: V1Pod[] = [];
  slices: V1EndpointSlice[] = [];
  readonly scales: Array<{ namespace: string; name: string; replicas: number; result: 'scaled' | 'lost' }> = [];
  readonly events: CoreV1Event[] = [];
  readonly marked: string[] = [];
  /** Set to make scale() fail with this HTTP status. */
  scaleError: number | undefined;
  /** Called after a successful scale, to play the control plane (create pods, slices...). */
  onScaled: ((deployment: V1Deployment, replicas: number) => void) | undefined;
  /** While true, new watches do not list: a cold interceptor's slow first list and watch. publish() after clearing it. */
  holdSyncs = false;
  /** Deployments fetched with one GET, as namespace/name. */
  readonly gets: string[] = [];
  #watches: Array<{ kind: 'routes' | 'deployments' | 'pods' | 'slices'; watch: FakeWatch<never> }> = [];
  #version = 1;

  #watch<T>(kind: 'routes' | 'deployments' | 'pods' | 'slices', filter: (item: T) => boolean, onChange: () => void): Watched<T> {
    const watch = new FakeWatch<T>(onChange, filter);
    this.#watches.push({ kind, watch: watch as unknown as FakeWatch<never> });
    if (!this.holdSyncs) setImmediate(() => watch.push(this[kind] as unknown as T[]));
    return watch;
  }

  /** Tells every live watch about the current world (call after editing it). */
  publish(): void {
    for (const { kind, watch } of this.#watches) if (watch.synced || !this.holdSyncs) watch.push(this[kind] as never[]);
  }

  get liveWatches(): number {
    return this.#watches.filter((w) => !w.watch.stopped).length;
  }

  routes_(onChange: () => void) {
    return this.#watch<V1ConfigMap>('routes', () => true, onChange);
  }

  deployment(namespace: string, name: string, onChange: () => void): Watched<V1Deployment> {
    return this.#watch<V1Deployment>('deployments', (d) => ns(d) === namespace && d.metadata?.name === name, onChange);
  }

  pods_(namespace: string, _selector: string, onChange: () => void): Watched<V1Pod> {
    return this.#watch<V1Pod>('pods', (p) => ns(p) === namespace, onChange);
  }

  slicesWatch(namespace: string, service: string, onChange: () => void): Watched<V1EndpointSlice> {
    return this.#watch<V1EndpointSlice>('slices', (s) => ns(s) === namespace && s.metadata?.labels?.['kubernetes.io/service-name'] === service, onChange);
  }

  /** ConfigMaps apps may name (custom waiting pages), by namespace/name. */
  readonly configMaps = new Map<string, V1ConfigMap>();

  async getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    await new Promise((resolve) => setImmediate(resolve));
    const found = this.configMaps.get(`${namespace}/${name}`);
    return found === undefined ? undefined : structuredClone(found);
  }

  async getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    await new Promise((resolve) => setImmediate(resolve));
    this.gets.push(`${namespace}/${name}`);
    const deployment = this.deployments.find((d) => ns(d) === namespace && d.metadata?.name === name);
    return deployment === undefined ? undefined : structuredClone(deployment);
  }

  async scale(namespace: string, name: string, replicas: number): Promise<'scaled' | 'lost'> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.scaleError !== undefined) throw new KubeApiError('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`, this.scaleError, 'Forbidden', 'no');
    const deployment = this.deployments.find((d) => ns(d) === namespace && d.metadata?.name === name);
    if (!deployment || deployment.spec?.replicas !== 0) {
      this.scales.push({ namespace, name, replicas, result: 'lost' });
      return 'lost';
    }
    deployment.spec.replicas = replicas;
    deployment.metadata!.resourceVersion = String(++this.#version);
    this.scales.push({ namespace, name, replicas, result: 'scaled' });
    this.publish();
    // The control plane reacts after the scale has been answered.
    setImmediate(() => this.onScaled?.(deployment, replicas));
    return 'scaled';
  }

  async markWaking(namespace: string, name: string): Promise<boolean> {
    this.marked.push(`${namespace}/${name}`);
    return true;
  }

  async record(event: CoreV1Event): Promise<void> {
    this.events.push(event);
  }

  /** The ClusterApi view of this fake (method names differ where the world's fields take the plain names). */
  api(): ClusterApi {
    return {
      routes: (onChange) => this.routes_(onChange),
      deployment: (n, name, onChange) => this.deployment(n, name, onChange),
      getDeployment: (n, name) => this.getDeployment(n, name),
      pods: (n, selector, onChange) => this.pods_(n, selector, onChange),
      slices: (n, service, onChange) => this.slicesWatch(n, service, onChange),
      scale: (n, name, replicas) => this.scale(n, name, replicas),
      markWaking: (n, name) => this.markWaking(n, name),
      record: (event) => this.record(event),
      getConfigMap: (n, name) => this.getConfigMap(n, name),
    };
  }
}

/** The route record the reconciler would write for Service `name`'s port `http`. */
export function appRoute(namespace: string, name: string, deployment: string, interceptorPort: number): V1ConfigMap {
  return buildRouteRecord({ port: interceptorPort, namespace, service: name, deployment, servicePort: 'http', portName: 'http' }, 'lull-system');
}

export function appDeployment(namespace: string, name: string, replicas: number, annotations: Record<string, string> = {}): V1Deployment {
  return {
    metadata: { namespace, name, uid: `uid-${name}`, resourceVersion: '1', annotations: { 'lull.dev/state': replicas === 0 ? 'sleeping' : 'awake', ...annotations } },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: {} },
  };
}

export interface Endpoint {
  pod: string;
  address?: string;
  port: number;
  ready: boolean;
  terminating?: boolean;
}

export function appSlice(namespace: string, service: string, endpoints: Endpoint[]): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { namespace, name: `${service}-abcde`, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    ports: endpoints.length ? [{ name: 'http', port: endpoints[0]!.port, protocol: 'TCP' }] : [],
    endpoints: endpoints.map((e) => ({
      addresses: [e.address ?? HOST],
      conditions: { ready: e.ready, serving: e.ready || !!e.terminating, terminating: !!e.terminating },
      targetRef: { kind: 'Pod', name: e.pod, namespace, uid: `uid-${e.pod}` },
    })),
  };
}

/** A pod of the app; its IP is the test's loopback address, which the slices' endpoints use. */
export function appPod(namespace: string, name: string, app: string, adminPort: number, status: V1Pod['status'] = { phase: 'Running', podIP: HOST }): V1Pod {
  return {
    metadata: { namespace, name, uid: `uid-${name}`, labels: { app } },
    spec: { containers: [{ name: 'app' }], initContainers: [{ name: 'lull-sidecar', restartPolicy: 'Always', ports: [{ name: 'lull-admin', containerPort: adminPort }] }] },
    status,
  };
}

/** A port free now, anywhere or within `range` (an interceptor port must be in INTERCEPTOR_PORT_RANGE). */
export async function freePort(range?: { first: number; last: number }): Promise<number> {
  for (;;) {
    const want = range ? range.first + Math.floor(Math.random() * (range.last - range.first)) : 0;
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(want, HOST, () => resolve(true));
    });
    if (!ok) continue;
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }
}

/** The whole interceptor in-process against `cluster`, with generous caps; the caller shuts it down. */
export function startTestInterceptor(cluster: FakeCluster, caps: { maxHeld?: number; maxConnecting?: number } = {}): Promise<RunningInterceptor> {
  return startInterceptor({
    cluster: cluster.api(),
    log: silentLog,
    host: HOST,
    adminPort: 0,
    adminHost: HOST,
    maxHeldTotal: caps.maxHeld ?? 10_000,
    maxHeldPerNamespace: caps.maxHeld ?? 10_000,
    maxConnecting: caps.maxConnecting ?? 64,
    appLingerMs: 60_000,
    source: { component: 'lull-interceptor', instance: 'test' },
    probe: { retryMs: 2 },
  });
}
