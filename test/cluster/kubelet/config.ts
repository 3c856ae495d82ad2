/** What the cluster hands the process kubelet (as JSON, path given by `--config`). */
export interface KubeletConfig {
  nodeName: string;
  /** Kubeconfig with the node's identity (CN=system:node:<name>, O=system:nodes). */
  kubeconfig: string;
  podCIDR: string;
  gateway: string;
  bridge: string;
  netnsPrefix: string;
  vethPrefix: string;
  /** Pod end of the veth until it moves into the pod's netns. */
  peerVethPrefix: string;
  /** Per-pod working files (volumes, service-account tokens). */
  stateDir: string;
  /** Container logs: <logDir>/<namespace>_<pod>/<container>.log */
  logDir: string;
  kubernetesServiceIP: string;
  kubernetesVersion: string;
  repoRoot: string;
  /** Node 24 binary: runs the Lull image's entrypoint. */
  nodeBinary: string;
  /** OCI image layouts searched for a pod's image by reference name; an image found runs in its rootfs. */
  imageStores?: string[];
  /** Unpacked image layers, one directory per digest (shared by clusters: content-addressed). */
  layerCache?: string;
}
