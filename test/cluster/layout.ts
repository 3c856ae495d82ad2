// Where the local cluster lives: addresses, names, ports and files. Every part of test/cluster reads
// these, so a leftover from a crash can always be found and removed by name.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The nearest directory upwards with a package.json: the repository, from the sources and from dist/ alike. */
function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '../..');
  }
}

export const REPO_ROOT = repoRoot(import.meta.dirname);

export interface ClusterLayout {
  /** Everything the cluster writes: certificates, kubeconfigs, data, logs, pids. */
  stateDir: string;
  nodeName: string;
  bridge: string;
  /** Pod addresses; routed only to the bridge. */
  podCIDR: string;
  /** The bridge's own address: the node's InternalIP and the apiserver's address. */
  gateway: string;
  /** ClusterIPs; routed only to the bridge so nothing leaves the machine when no rule matches. */
  serviceCIDR: string;
  kubernetesServiceIP: string;
  netnsPrefix: string;
  vethPrefix: string;
  /** Pod-side end of a veth before it moves into the pod's netns (and is renamed eth0). */
  peerVethPrefix: string;
  apiserverPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  /** Secure ports of the controller-manager and scheduler; not the defaults, so a host's own cluster is untouched. */
  controllerManagerPort: number;
  schedulerPort: number;
  kubeProxyHealthzPort: number;
  kubeProxyMetricsPort: number;
}

export function clusterLayout(env: NodeJS.ProcessEnv = process.env): ClusterLayout {
  return {
    stateDir: resolve(env.LULL_CLUSTER_DIR ?? resolve(REPO_ROOT, '.lull/cluster')),
    nodeName: 'lull-node',
    bridge: 'lull0',
    podCIDR: '10.213.0.0/24',
    gateway: '10.213.0.1',
    serviceCIDR: '10.214.0.0/24',
    kubernetesServiceIP: '10.214.0.1',
    netnsPrefix: 'lull-',
    vethPrefix: 'lullv',
    peerVethPrefix: 'lullp',
    apiserverPort: 6443,
    etcdClientPort: 23790,
    etcdPeerPort: 23800,
    controllerManagerPort: 20257,
    schedulerPort: 20259,
    kubeProxyHealthzPort: 20256,
    kubeProxyMetricsPort: 20249,
  };
}

/** Files inside the state directory that other code (CLI, tests, kubelet) needs to find. */
export function clusterFiles(layout: ClusterLayout) {
  const at = (...parts: string[]) => resolve(layout.stateDir, ...parts);
  return {
    adminKubeconfig: at('kubeconfig'),
    pki: at('pki'),
    etcdData: at('etcd'),
    logs: at('logs'),
    podLogs: at('logs', 'pods'),
    pids: at('pids'),
    kubeletDir: at('kubelet'),
    kubeletConfig: at('kubelet', 'config.json'),
    /** One kubeconfig per component, each with its own identity. */
    kubeconfigs: at('kubeconfigs'),
    kubeProxyConfig: at('kube-proxy.yaml'),
    /** What the network setup changed on the host (sysctls, nft tables), so cleanup can restore it. */
    networkState: at('network.json'),
  };
}
