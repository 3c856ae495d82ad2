import { describe, expect, it } from 'vitest';
import {
  apiserverArgs,
  COMPONENTS,
  componentPlans,
  controllerManagerArgs,
  etcdArgs,
  healthChecks,
  kubeletConfig,
  kubeProxyConfig,
  schedulerArgs,
  STOP_ORDER,
} from '../../cluster/components.ts';
import { clusterLayout } from '../../cluster/layout.ts';

const layout = clusterLayout({ LULL_CLUSTER_DIR: '/state' });
const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');

describe('etcd', () => {
  it('listens on localhost only, with its data in the state dir', () => {
    const args = etcdArgs(layout);
    expect(flag(args, 'listen-client-urls')).toBe('http://127.0.0.1:23790');
    expect(flag(args, 'listen-peer-urls')).toBe('http://127.0.0.1:23800');
    expect(flag(args, 'data-dir')).toBe('/state/etcd');
  });
});

describe('kube-apiserver', () => {
  const args = apiserverArgs(layout);

  it('binds to and advertises the gateway', () => {
    expect(flag(args, 'bind-address')).toBe('10.213.0.1');
    expect(flag(args, 'advertise-address')).toBe('10.213.0.1');
    expect(flag(args, 'secure-port')).toBe('6443');
  });

  it('authorizes nodes and RBAC, and restricts what nodes may change', () => {
    expect(flag(args, 'authorization-mode')).toBe('Node,RBAC');
    expect(flag(args, 'enable-admission-plugins')).toContain('NodeRestriction');
  });

  it('signs service-account tokens and knows the service range and the client CA', () => {
    expect(flag(args, 'service-account-signing-key-file')).toBe('/state/pki/sa.key');
    expect(flag(args, 'service-account-key-file')).toBe('/state/pki/sa.pub');
    expect(flag(args, 'service-account-issuer')).toMatch(/^https:\/\//);
    expect(flag(args, 'service-cluster-ip-range')).toBe('10.214.0.0/24');
    expect(flag(args, 'client-ca-file')).toBe('/state/pki/ca.crt');
    expect(flag(args, 'etcd-servers')).toBe('http://127.0.0.1:23790');
  });

  it('has no cloud provider', () => {
    expect(args.some((a) => a.startsWith('--cloud'))).toBe(false);
  });
});

describe('kube-controller-manager and kube-scheduler', () => {
  it('run as their own identity, with service-account credentials per controller', () => {
    const args = controllerManagerArgs(layout);
    expect(flag(args, 'kubeconfig')).toBe('/state/kubeconfigs/kube-controller-manager.kubeconfig');
    expect(flag(args, 'use-service-account-credentials')).toBe('true');
    expect(flag(args, 'root-ca-file')).toBe('/state/pki/ca.crt');
    expect(flag(args, 'service-account-private-key-file')).toBe('/state/pki/sa.key');
    expect(flag(args, 'controllers')).toBe('*');
  });

  it('serve on the gateway, on ports that are not the defaults', () => {
    expect(flag(controllerManagerArgs(layout), 'bind-address')).toBe('10.213.0.1');
    expect(flag(controllerManagerArgs(layout), 'secure-port')).toBe('20257');
    expect(flag(schedulerArgs(layout), 'secure-port')).toBe('20259');
    expect(flag(schedulerArgs(layout), 'kubeconfig')).toBe('/state/kubeconfigs/kube-scheduler.kubeconfig');
  });
});

describe('kube-proxy', () => {
  const config = kubeProxyConfig(layout) as {
    mode: string;
    clusterCIDR: string;
    hostnameOverride: string;
    healthzBindAddress: string;
    metricsBindAddress: string;
    nodePortAddresses: string[];
    iptables: { masqueradeAll: boolean; localhostNodePorts: boolean };
    conntrack: { maxPerCore: number; tcpEstablishedTimeout: string; tcpCloseWaitTimeout: string };
    clientConnection: { kubeconfig: string };
  };

  it('proxies with iptables for the pod range, as the node', () => {
    expect(config.mode).toBe('iptables');
    expect(config.clusterCIDR).toBe('10.213.0.0/24');
    expect(config.hostnameOverride).toBe('lull-node');
    expect(config.iptables.masqueradeAll).toBe(true);
    expect(config.clientConnection.kubeconfig).toBe('/state/kubeconfigs/kube-proxy.kubeconfig');
  });

  it('leaves the host alone: no conntrack sysctls, no route_localnet, no NodePorts on real interfaces', () => {
    expect(config.conntrack).toMatchObject({ maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
    expect(config.iptables.localhostNodePorts).toBe(false);
    expect(config.nodePortAddresses).toEqual(['10.213.0.1/32']);
    expect(config.healthzBindAddress).toBe('10.213.0.1:20256');
    expect(config.metricsBindAddress).toBe('127.0.0.1:20249');
  });
});

describe('kubelet config', () => {
  it('hands the node its identity, network and directories', () => {
    const config = kubeletConfig(layout, { kubernetesVersion: 'v1.36.3', nodeBinary: '/node' });
    expect(config).toMatchObject({
      nodeName: 'lull-node',
      kubeconfig: '/state/kubeconfigs/kubelet.kubeconfig',
      podCIDR: '10.213.0.0/24',
      gateway: '10.213.0.1',
      bridge: 'lull0',
      logDir: '/state/logs/pods',
      stateDir: '/state/kubelet',
      kubernetesVersion: 'v1.36.3',
      nodeBinary: '/node',
    });
  });
});

describe('plans', () => {
  const binaries = { 'kube-apiserver': '/b/kube-apiserver', 'kube-controller-manager': '/b/kcm', 'kube-scheduler': '/b/ks', 'kube-proxy': '/b/kp', kubectl: '/b/kubectl', etcd: '/b/etcd' };

  it('start in dependency order and stop in reverse', () => {
    const plans = componentPlans(layout, binaries, '/node');
    expect(plans.map((p) => p.name)).toEqual([...COMPONENTS]);
    expect(STOP_ORDER).toEqual([...COMPONENTS].reverse());
    expect(plans[0]!.process.command).toBe('/b/etcd');
  });

  it('name the state dir in every command line, so a stale pid can be told from ours', () => {
    for (const plan of componentPlans(layout, binaries, '/node')) {
      expect(plan.process.args.join(' '), plan.name).toContain('/state/');
    }
  });

  it('read health from each component', () => {
    const health = healthChecks(layout);
    expect(health.etcd).toEqual({ kind: 'http', url: 'http://127.0.0.1:23790/health', tls: 'none' });
    expect(health['kube-apiserver']).toMatchObject({ url: 'https://10.213.0.1:6443/readyz' });
    expect(health.kubelet).toEqual({ kind: 'node-ready', nodeName: 'lull-node' });
  });
});
