// The ports the components listen on, checked free before they start: a stranger answering on one
// would pass our health check and hide the real failure in the component's log.
import { createServer } from 'node:net';
import type { ClusterLayout } from './layout.ts';

export interface PortUse {
  host: string;
  port: number;
  what: string;
}

export function componentPorts(layout: ClusterLayout): PortUse[] {
  return [
    { host: '127.0.0.1', port: layout.etcdClientPort, what: 'etcd clients' },
    { host: '127.0.0.1', port: layout.etcdPeerPort, what: 'etcd peers' },
    { host: layout.gateway, port: layout.apiserverPort, what: 'kube-apiserver' },
    { host: layout.gateway, port: layout.controllerManagerPort, what: 'kube-controller-manager' },
    { host: layout.gateway, port: layout.schedulerPort, what: 'kube-scheduler' },
    { host: layout.gateway, port: layout.kubeProxyHealthzPort, what: 'kube-proxy health' },
    { host: '127.0.0.1', port: layout.kubeProxyMetricsPort, what: 'kube-proxy metrics' },
  ];
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

/** Those of `ports` something else already listens on. */
export async function busyPorts(ports: readonly PortUse[]): Promise<PortUse[]> {
  const free = await Promise.all(ports.map((p) => canListen(p.host, p.port)));
  return ports.filter((_, i) => !free[i]);
}
