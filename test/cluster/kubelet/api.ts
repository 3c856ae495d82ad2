// What the kubelet asks of the apiserver, in one place, with the node's own identity.
import { CoreV1Api, CoordinationV1Api, KubeConfig, type V1Pod, type V1PodStatus, type V1Service } from '@kubernetes/client-node';

export interface KubeletApi {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  serviceAccountToken(pod: V1Pod, audiences: string[] | undefined, expirationSeconds: number): Promise<{ token: string; expiresAt: number }>;
  services(namespace: string): Promise<V1Service[]>;
  patchPodStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  deletePod(pod: V1Pod): Promise<void>;
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export function kubeletApi(kc: KubeConfig, nodeName: string): KubeletApi & { core: CoreV1Api; coordination: CoordinationV1Api } {
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  return {
    core,
    coordination,
    async configMap(namespace, name) {
      try {
        const cm = await core.readNamespacedConfigMap({ name, namespace });
        return { ...cm.data };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async secret(namespace, name) {
      try {
        const secret = await core.readNamespacedSecret({ name, namespace });
        return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async serviceAccountToken(pod, audiences, expirationSeconds) {
      const result = await core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? 'default',
        namespace: pod.metadata!.namespace!,
        body: {
          spec: {
            audiences: audiences ?? [],
            expirationSeconds,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
          },
        },
      });
      const status = result.status;
      if (!status?.token) throw new Error(`no token issued for service account ${pod.spec?.serviceAccountName ?? 'default'}`);
      return { token: status.token, expiresAt: status.expirationTimestamp ? new Date(status.expirationTimestamp).getTime() : Date.now() + expirationSeconds * 1000 };
    },
    async services(namespace) {
      const list = await core.listNamespacedService({ namespace });
      return list.items;
    },
    async patchPodStatus(pod, status) {
      await core.patchNamespacedPodStatus({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: [{ op: 'replace', path: '/status', value: status }],
      });
    },
    async deletePod(pod) {
      try {
        await core.deleteNamespacedPod({
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } },
        });
      } catch (err) {
        if (!isNotFound(err) && (err as { code?: number }).code !== 409) throw err;
      }
    },
    async event(pod, type, reason, message) {
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: pod.metadata!.namespace!,
        body: {
          metadata: { generateName: `${pod.metadata!.name}.`, namespace: pod.metadata!.namespace! },
          involvedObject: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata!.name, namespace: pod.metadata!.namespace, uid: pod.metadata!.uid },
          type,
          reason,
          message,
          source: { component: 'kubelet', host: nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    },
  };
}
