// Real-world shaped Deployments and Services, and the defaulting the apiserver applies before and after admission.
import type { V1Container, V1Deployment, V1Probe, V1Service } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { deploymentPatch } from '../../../webhook/deployment-patch.ts';

function deployment(name: string, spec: Partial<NonNullable<NonNullable<V1Deployment['spec']>['template']['spec']>>, annotations?: Record<string, string>): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      generation: 3,
      labels: { app: name },
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: 'web' } },
        spec: { containers: [], ...spec },
      },
    },
    status: { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2 },
  };
}

/** One container, a named port, a readiness probe on the name, nothing else (the common case). */
export const web = deployment(
  'web',
  {
    containers: [
      {
        name: 'web',
        image: 'nginxinc/nginx-unprivileged:1.27',
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
        resources: { requests: { cpu: '50m', memory: '64Mi' } },
      },
    ],
  },
  { 'lull.dev/enabled': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1"}' },
);

/** An API and a worker, numeric and named ports, a migration init container, a long grace period. */
export const multi = deployment(
  'orders',
  {
    terminationGracePeriodSeconds: 60,
    initContainers: [{ name: 'migrate', image: 'ghcr.io/acme/orders:2.4.1', args: ['migrate', 'up'] }],
    containers: [
      {
        name: 'api',
        image: 'ghcr.io/acme/orders:2.4.1',
        ports: [{ containerPort: 3000 }, { name: 'metrics', containerPort: 9090 }],
        livenessProbe: { tcpSocket: { port: 3000 } },
        env: [{ name: 'PORT', value: '3000' }],
      },
      { name: 'worker', image: 'ghcr.io/acme/orders:2.4.1', args: ['worker'] },
    ],
  },
  { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '30m' },
);

/** The user's own preStop (a sleep, as many charts do) and a postStart. */
export const ownPreStop = deployment('legacy', {
  terminationGracePeriodSeconds: 45,
  containers: [
    {
      name: 'app',
      image: 'tomcat:10',
      ports: [{ name: 'http', containerPort: 8080 }],
      lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } }, postStart: { exec: { command: ['/warmup.sh'] } } },
    },
  ],
});

/** An app already on 9930 and 9931, plus a probe on an undeclared port 9932. */
export const portClash = deployment('admin-heavy', {
  containers: [
    {
      name: 'app',
      image: 'example/admin:1',
      ports: [
        { name: 'http', containerPort: 9931 },
        { name: 'admin', containerPort: 9930 },
      ],
      readinessProbe: { httpGet: { path: '/ready', port: 9932 } },
    },
  ],
});

/** DNS on UDP and TCP 53, and a short grace period. */
export const dns = deployment('dns', {
  terminationGracePeriodSeconds: 5,
  containers: [
    {
      name: 'coredns',
      image: 'coredns/coredns:1.11.3',
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      ],
    },
  ],
});

/** A mesh's native sidecar already there (istio-proxy style), with ports of its own. */
export const meshed = deployment('meshed', {
  initContainers: [
    {
      name: 'istio-proxy',
      image: 'istio/proxyv2:1.24',
      restartPolicy: 'Always',
      ports: [{ name: 'http-envoy-prom', containerPort: 15090 }],
      readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 } },
    },
  ],
  containers: [{ name: 'app', image: 'example/app:1', ports: [{ name: 'grpc', containerPort: 50051 }] }],
});

/** No ports at all (a queue consumer). */
export const worker = deployment('consumer', { containers: [{ name: 'consumer', image: 'example/consumer:1' }] });

export const table = { web, multi, ownPreStop, portClash, dns, meshed, worker };

function defaultProbe(probe: V1Probe | undefined): void {
  if (probe === undefined) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) probe.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(c: V1Container): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= c.image?.endsWith(':latest') ? 'Always' : 'IfNotPresent';
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
  for (const h of [c.lifecycle?.preStop, c.lifecycle?.postStart]) if (h?.httpGet) h.httpGet.scheme ??= 'HTTP';
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
}

/** What the apiserver fills in: admission sees it, and fills it in again after a webhook's patch. */
export function withDefaults(d: V1Deployment): V1Deployment {
  const copy = structuredClone(d);
  const spec = copy.spec!.template.spec!;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) defaultContainer(c);
  return copy;
}

export function service(name: string, selector: Record<string, string> | undefined, ports: NonNullable<V1Service['spec']>['ports'], annotations?: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', ...(annotations ? { annotations } : {}) },
    spec: { type: 'ClusterIP', ...(selector ? { selector } : {}), ports },
  };
}

/** The Deployment as stored after the webhook injected it (status says the rollout is done). */
export function stored(d: V1Deployment, options = { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' }): V1Deployment {
  const admitted = withDefaults(d);
  const patch = deploymentPatch(admitted, 'inject', options);
  return withDefaults(jsonpatch.applyPatch(admitted, patch, true, false).newDocument);
}
