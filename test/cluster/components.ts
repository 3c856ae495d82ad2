// What each component runs with: its command line, its config files, how its health is read, how
// long it may take. Pure: cluster.ts starts, waits for and stops them.
import { join } from 'node:path';
import { prefixLength } from './cidr.ts';
import type { KubeletConfig } from './kubelet/config.ts';
import { imageStore, layerCache } from './image.ts';
import { clusterFiles, REPO_ROOT, type ClusterLayout } from './layout.ts';
import { kubeconfigPath, pkiPaths } from './pki.ts';
import type { ProcessSpec } from './processes.ts';
import type { BinaryName } from './versions.ts';

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubelet'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** Reverse of start: the kubelet first, so it stops its pods while the API is still there. */
export const STOP_ORDER: readonly ComponentName[] = ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];

export type Health =
  /** GET must answer 200. `tls`: verify with the cluster CA; `client`: also present the admin certificate. */
  | { kind: 'http'; url: string; tls: 'none' | 'server' | 'client' }
  /** The Node object's Ready condition is True. */
  | { kind: 'node-ready'; nodeName: string };

export interface ComponentPlan {
  name: ComponentName;
  process: ProcessSpec;
  health: Health;
  /** How long it may take to become healthy once started. */
  readyTimeoutMs: number;
  /** How long it may take to exit after SIGTERM. */
  stopGraceMs: number;
}

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export const KUBELET_MAIN = join(REPO_ROOT, 'test/cluster/kubelet/main.ts');

export function etcdArgs(layout: ClusterLayout): string[] {
  const client = `http://127.0.0.1:${layout.etcdClientPort}`;
  const peer = `http://127.0.0.1:${layout.etcdPeerPort}`;
  return [
    '--name=lull',
    `--data-dir=${clusterFiles(layout).etcdData}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=lull=${peer}`,
    '--initial-cluster-state=new',
    '--initial-cluster-token=lull',
    // A throwaway test cluster: losing the last writes on a power cut is fine, waiting on fsync is not.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiserverArgs(layout: ClusterLayout): string[] {
  const pki = pkiPaths(layout);
  return [
    `--advertise-address=${layout.gateway}`,
    `--bind-address=${layout.gateway}`,
    `--secure-port=${layout.apiserverPort}`,
    `--etcd-servers=http://127.0.0.1:${layout.etcdClientPort}`,
    `--service-cluster-ip-range=${layout.serviceCIDR}`,
    `--client-ca-file=${pki.caCert}`,
    `--tls-cert-file=${pki.cert('apiserver')}`,
    `--tls-private-key-file=${pki.key('apiserver')}`,
    `--kubelet-client-certificate=${pki.cert('apiserver-kubelet-client')}`,
    `--kubelet-client-key=${pki.key('apiserver-kubelet-client')}`,
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--authorization-mode=Node,RBAC',
    // Added to the default admission plugins, not instead of them.
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

/** Flags the controller-manager and the scheduler share: identity, delegated auth, serving. */
function hostComponentArgs(layout: ClusterLayout, identity: 'kube-controller-manager' | 'kube-scheduler', port: number): string[] {
  const pki = pkiPaths(layout);
  const kubeconfig = kubeconfigPath(layout, identity);
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--client-ca-file=${pki.caCert}`,
    // The client CA is given above; there is no front proxy whose CA the lookup would find.
    '--authentication-skip-lookup=true',
    `--bind-address=${layout.gateway}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.cert(`${identity}-serving`)}`,
    `--tls-private-key-file=${pki.key(`${identity}-serving`)}`,
    // One instance: no lease to wait for, none left behind to block the next start.
    '--leader-elect=false',
    '--profiling=false',
  ];
}

export function controllerManagerArgs(layout: ClusterLayout): string[] {
  const pki = pkiPaths(layout);
  return [
    ...hostComponentArgs(layout, 'kube-controller-manager', layout.controllerManagerPort),
    // All default controllers: deployment, replicaset, endpoint(slice), garbagecollector, namespace, serviceaccount(-token), nodelifecycle, ...
    '--controllers=*',
    '--use-service-account-credentials=true',
    // One client per controller, each starting with discovery: the default 20 qps throttles start-up by seconds.
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    `--root-ca-file=${pki.caCert}`,
    `--service-account-private-key-file=${pki.saKey}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    '--allocate-node-cidrs=true',
    `--cluster-cidr=${layout.podCIDR}`,
    `--node-cidr-mask-size=${prefixLength(layout.podCIDR)}`,
    `--service-cluster-ip-range=${layout.serviceCIDR}`,
    '--cluster-name=lull',
  ];
}

export function schedulerArgs(layout: ClusterLayout): string[] {
  return hostComponentArgs(layout, 'kube-scheduler', layout.schedulerPort);
}

/** KubeProxyConfiguration: iptables mode, limited to the bridge, and hands off the host's sysctls. */
export function kubeProxyConfig(layout: ClusterLayout): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath(layout, 'kube-proxy') },
    mode: 'iptables',
    clusterCIDR: layout.podCIDR,
    hostnameOverride: layout.nodeName,
    // Used as the node IP, so kube-proxy need not wait for the Node object to learn it.
    bindAddress: layout.gateway,
    healthzBindAddress: `${layout.gateway}:${layout.kubeProxyHealthzPort}`,
    metricsBindAddress: `127.0.0.1:${layout.kubeProxyMetricsPort}`,
    bindAddressHardFail: true,
    // NodePorts only on the bridge address, never on the host's real interfaces.
    nodePortAddresses: [`${layout.gateway}/32`],
    iptables: {
      // Pod → ClusterIP → pod on the same bridge: SNAT makes the reply come back through the host's conntrack.
      masqueradeAll: true,
      // Would set net.ipv4.conf.all.route_localnet; nothing here needs NodePorts on 127.0.0.1.
      localhostNodePorts: false,
    },
    // Zero means "leave the host's setting alone": kube-proxy touches no conntrack sysctl.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
}

export function kubeletConfig(layout: ClusterLayout, options: { kubernetesVersion: string; nodeBinary: string }): KubeletConfig {
  const files = clusterFiles(layout);
  return {
    nodeName: layout.nodeName,
    kubeconfig: kubeconfigPath(layout, 'kubelet'),
    podCIDR: layout.podCIDR,
    gateway: layout.gateway,
    bridge: layout.bridge,
    netnsPrefix: layout.netnsPrefix,
    vethPrefix: layout.vethPrefix,
    peerVethPrefix: layout.peerVethPrefix,
    stateDir: files.kubeletDir,
    logDir: files.podLogs,
    kubernetesServiceIP: layout.kubernetesServiceIP,
    kubernetesVersion: options.kubernetesVersion,
    repoRoot: REPO_ROOT,
    nodeBinary: options.nodeBinary,
    imageStores: [imageStore(layout)],
    layerCache: layerCache(),
  };
}

/** How each component's health is read; also what `status` asks. */
export function healthChecks(layout: ClusterLayout): Record<ComponentName, Health> {
  const https = (port: number, path: string) => `https://${layout.gateway}:${port}${path}`;
  return {
    etcd: { kind: 'http', url: `http://127.0.0.1:${layout.etcdClientPort}/health`, tls: 'none' },
    'kube-apiserver': { kind: 'http', url: https(layout.apiserverPort, '/readyz'), tls: 'client' },
    'kube-controller-manager': { kind: 'http', url: https(layout.controllerManagerPort, '/healthz'), tls: 'server' },
    'kube-scheduler': { kind: 'http', url: https(layout.schedulerPort, '/healthz'), tls: 'server' },
    // /healthz also wants the Node to exist (it is meant for load balancers); /livez is the proxier's own health.
    'kube-proxy': { kind: 'http', url: `http://${layout.gateway}:${layout.kubeProxyHealthzPort}/livez`, tls: 'none' },
    kubelet: { kind: 'node-ready', nodeName: layout.nodeName },
  };
}

/** How long each may take to become healthy once started, and to exit after SIGTERM. */
export const TIMEOUTS: Record<ComponentName, { readyMs: number; stopGraceMs: number }> = {
  etcd: { readyMs: 30_000, stopGraceMs: 10_000 },
  'kube-apiserver': { readyMs: 90_000, stopGraceMs: 15_000 },
  'kube-controller-manager': { readyMs: 60_000, stopGraceMs: 10_000 },
  'kube-scheduler': { readyMs: 60_000, stopGraceMs: 10_000 },
  // It waits up to 30s for its Node object before serving health, so it starts alongside the kubelet.
  'kube-proxy': { readyMs: 60_000, stopGraceMs: 10_000 },
  // Stopping takes as long as its pods' grace periods: it stops every pod first.
  kubelet: { readyMs: 60_000, stopGraceMs: 60_000 },
};

/** All components in start order. */
export function componentPlans(layout: ClusterLayout, binaries: Record<BinaryName, string>, nodeBinary: string): ComponentPlan[] {
  const files = clusterFiles(layout);
  const health = healthChecks(layout);
  const plan = (name: ComponentName, command: string, args: string[], cwd?: string): ComponentPlan => ({
    name,
    process: { name, command, args, cwd },
    health: health[name],
    readyTimeoutMs: TIMEOUTS[name].readyMs,
    stopGraceMs: TIMEOUTS[name].stopGraceMs,
  });
  return [
    plan('etcd', binaries.etcd, etcdArgs(layout)),
    plan('kube-apiserver', binaries['kube-apiserver'], apiserverArgs(layout)),
    plan('kube-controller-manager', binaries['kube-controller-manager'], controllerManagerArgs(layout)),
    plan('kube-scheduler', binaries['kube-scheduler'], schedulerArgs(layout)),
    plan('kube-proxy', binaries['kube-proxy'], [`--config=${files.kubeProxyConfig}`]),
    plan('kubelet', nodeBinary, [KUBELET_MAIN, '--config', files.kubeletConfig], REPO_ROOT),
  ];
}
