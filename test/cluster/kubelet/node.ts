// The Node object and its Lease: registered once, kept fresh so the node lifecycle controller
// never marks the node NotReady.
import { cpus, totalmem, release } from 'node:os';
import type { CoordinationV1Api, CoreV1Api, V1MicroTime, V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { microTime } from '../../../core/micro-time.ts';
import type { KubeletConfig } from './config.ts';

const LEASE_SECONDS = 40;
export const LEASE_RENEW_MS = 10_000;
const STATUS_REPORT_MS = 60_000;

export function nodeConditions(now: Date, since: Date): V1NodeCondition[] {
  const ok = (type: string, status: 'True' | 'False', reason: string, message: string): V1NodeCondition => ({
    type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since,
  });
  return [
    ok('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    ok('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    ok('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    ok('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

export function nodeObject(config: KubeletConfig, now: Date): V1Node {
  const capacity = {
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': '100Gi',
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: config.nodeName,
      labels: { 'kubernetes.io/hostname': config.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' },
    },
    spec: { podCIDR: config.podCIDR, podCIDRs: [config.podCIDR] },
    status: {
      capacity,
      allocatable: capacity,
      conditions: nodeConditions(now, now),
      addresses: [{ type: 'InternalIP', address: config.gateway }, { type: 'Hostname', address: config.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: config.nodeName, systemUUID: config.nodeName, bootID: String(process.pid),
        kernelVersion: release(), osImage: 'Lull test kubelet (host processes)', containerRuntimeVersion: 'lull-process://1',
        kubeletVersion: config.kubernetesVersion, kubeProxyVersion: config.kubernetesVersion, operatingSystem: 'linux', architecture: 'amd64',
      },
    },
  };
}

export class NodeHeartbeat {
  private readonly config: KubeletConfig;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly since = new Date();
  private timers: NodeJS.Timeout[] = [];

  constructor(config: KubeletConfig, core: CoreV1Api, coordination: CoordinationV1Api) {
    this.config = config;
    this.core = core;
    this.coordination = coordination;
  }

  async register(): Promise<void> {
    const node = nodeObject(this.config, this.since);
    try {
      await this.core.createNode({ body: node });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      await this.core.patchNode({ name: this.config.nodeName, body: [{ op: 'replace', path: '/spec/podCIDR', value: this.config.podCIDR }] }).catch(() => undefined);
    }
    await this.reportStatus();
    await this.renewLease();
    this.timers.push(setInterval(() => void this.renewLease().catch(() => undefined), LEASE_RENEW_MS));
    this.timers.push(setInterval(() => void this.reportStatus().catch(() => undefined), STATUS_REPORT_MS));
  }

  private async reportStatus(): Promise<void> {
    const status = nodeObject(this.config, this.since).status!;
    status.conditions = nodeConditions(new Date(), this.since);
    await this.core.patchNodeStatus({ name: this.config.nodeName, body: [{ op: 'replace', path: '/status', value: status }] });
  }

  private async renewLease(): Promise<void> {
    const name = this.config.nodeName;
    const namespace = 'kube-node-lease';
    // client-node would serialise a Date with three fractional digits: the six-digit string goes as it is.
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() as unknown as V1MicroTime };
    try {
      const lease = await this.coordination.readNamespacedLease({ name, namespace });
      lease.spec = { ...lease.spec, ...spec };
      await this.coordination.replaceNamespacedLease({ name, namespace, body: lease });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      const node = await this.core.readNode({ name });
      await this.coordination.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata!.uid! }] }, spec },
      });
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
