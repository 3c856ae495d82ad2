// A stand-in for an ingress controller's data plane, for tests: routes HTTP by the cluster's `Ingress`
// rules to the endpoints an EndpointSlice-reading controller (Traefik, ingress-nginx, HAProxy, Contour)
// picks: the slices labelled kubernetes.io/service-name=<backend Service>, their port named like the
// Service port, their endpoints that are not unready — pod IPs, never the ClusterIP. No such controller
// can be built from the registries reachable here (docs/ingress.md says what was measured), so the
// selection rule is written out once, here, and the real parts of Lull answer behind it.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreV1Api, DiscoveryV1Api, NetworkingV1Api, V1EndpointSlice, V1Service } from '@kubernetes/client-node';

export interface Upstream {
  address: string;
  port: number;
  /** The slice it came from: `<svc>-lull` is Lull's interceptor slice. */
  slice: string;
}

export interface SliceRouter {
  url: string;
  /** Where each request went, in order. */
  routed: Upstream[];
  close(): Promise<void>;
}

export interface SliceRouterOptions {
  ingressClass: string;
  /** The controller's upstream timeout: an answer must start within it (Traefik: responseHeaderTimeout, nginx: proxy_read_timeout). */
  upstreamTimeoutMs: number;
  api: { core: CoreV1Api; discovery: DiscoveryV1Api; networking: NetworkingV1Api };
}

/** Pure: the endpoints a controller picks for one Service port from its slices. */
export function pickEndpoints(service: V1Service, servicePort: { name?: string; number?: number }, slices: readonly V1EndpointSlice[]): Upstream[] {
  const port = service.spec?.ports?.find((p) => (servicePort.name !== undefined ? p.name === servicePort.name : p.port === servicePort.number));
  if (!port) return [];
  const out: Upstream[] = [];
  for (const slice of slices) {
    // Slice ports carry the Service port's name ('' when the Service has one unnamed port).
    const match = slice.ports?.find((p) => (p.name ?? '') === (port.name ?? ''));
    if (!match?.port) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) out.push({ address, port: match.port, slice: slice.metadata?.name ?? '' });
    }
  }
  return out;
}

export async function startSliceRouter(options: SliceRouterOptions): Promise<SliceRouter> {
  const { core, discovery, networking } = options.api;
  const routed: Upstream[] = [];
  let turn = 0;

  const resolveUpstream = async (host: string, path: string): Promise<Upstream | undefined> => {
    const ingresses = (await networking.listIngressForAllNamespaces()).items.filter((i) => i.spec?.ingressClassName === options.ingressClass);
    for (const ingress of ingresses) {
      const namespace = ingress.metadata!.namespace!;
      for (const rule of ingress.spec?.rules ?? []) {
        if (rule.host && rule.host !== host) continue;
        const hit = rule.http?.paths.find((p) => path.startsWith(p.path ?? '/'));
        const backend = hit?.backend.service;
        if (!backend) continue;
        const service = await core.readNamespacedService({ name: backend.name, namespace });
        const slices = (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${backend.name}` })).items;
        const endpoints = pickEndpoints(service, { name: backend.port?.name, number: backend.port?.number }, slices);
        return endpoints.length > 0 ? endpoints[turn++ % endpoints.length] : undefined;
      }
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const upstream = await resolveUpstream(host, req.url ?? '/').catch(() => undefined);
    if (!upstream) {
      res.writeHead(503).end('no endpoints\n');
      return;
    }
    routed.push(upstream);
    const out = request({ host: upstream.address, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false, timeout: options.upstreamTimeoutMs }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    out.on('timeout', () => out.destroy(new Error('upstream timeout')));
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(err.message === 'upstream timeout' ? 504 : 502).end(`${err.message}\n`);
      else res.destroy();
    });
    req.pipe(out);
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routed,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
