// `lull teardown`: what must happen before Lull's parts are deleted (the Helm chart's pre-delete hook),
// so no app stays at zero behind endpoints nobody serves: stop the reconciler, wake every sleeping app,
// wait for it, then take Lull's annotations, interceptor EndpointSlices and routes off.
import type { V1Deployment } from '@kubernetes/client-node';
import { INTERCEPTOR_PORTS, REPLICAS_BEFORE_SLEEP, SLEPT_AT, STATE, SYSTEM_NAMESPACE, TOUCHED_AT } from '../core/annotations.ts';
import { MANAGED_BY_LABEL, recordPort, ROUTE_LABELS, ROUTE_SELECTOR, SLICE_MANAGED_BY } from '../core/interceptor-contract.ts';
import { isStatus, kubeClient, PATCH, type KubeClient } from '../core/kube-client.ts';
import { COMMON_USAGE, durationFlag, parseFlags } from './flags.ts';
import { loadCliKubeconfig } from './kubeconfig.ts';
import { runCommand } from './run.ts';
import { waitForDeployment } from './wait.ts';
import { scaleUpFromZero } from './wake.ts';

export const USAGE = `usage: lull teardown [--lull-namespace NS] [--timeout DURATION]

Before Lull is uninstalled: stops its reconciler, wakes every sleeping app (to the replicas it had)
and waits for it, then removes Lull's state annotations, its interceptor EndpointSlices and the
Services' interceptor routes, so every Service reaches its own pods again; last stops the webhook
and deletes what the parts made at run time in Lull's namespace (the route records, the webhook's
Secrets, the reconciler's Lease).

${COMMON_USAGE}
      --lull-namespace <ns>  where Lull runs ($POD_NAMESPACE, else ${SYSTEM_NAMESPACE})
      --timeout <duration>   how long to wait for each app to be ready (2m)
`;

interface List<T> {
  items: T[];
}
export interface Named {
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; labels?: Record<string, string> };
}

/** Pure: the paths of what the parts made at run time (with deploy/'s names), not the chart: the webhook's
 * Secrets, the reconciler's Lease and its route records among `configMaps` (listed by ROUTE_SELECTOR;
 * only those named and labelled as records, so nothing else in the namespace goes). */
export function runtimeObjects(ns: string, configMaps: readonly Named[]): string[] {
  const isRecord = (c: Named) => recordPort(c.metadata.name) !== undefined && Object.entries(ROUTE_LABELS).every(([k, v]) => c.metadata.labels?.[k] === v);
  return [
    `/api/v1/namespaces/${ns}/secrets/lull-webhook-tls`,
    `/api/v1/namespaces/${ns}/secrets/lull-webhook-ca`,
    `/api/v1/namespaces/${ns}/secrets/lull-drain-key`,
    `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/lull-reconciler`,
    ...configMaps.filter((c) => c.metadata.namespace === ns && isRecord(c)).map((c) => `/api/v1/namespaces/${ns}/configmaps/${c.metadata.name}`),
  ];
}

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const asleep = (d: V1Deployment) => ['sleeping', 'waking'].includes(d.metadata?.annotations?.[STATE] ?? '') && (d.spec?.replicas ?? 1) === 0;
const ready = (d: V1Deployment) => (d.status?.readyReplicas ?? 0) > 0;

/** Scales a part to zero and polls until none of its pods is left: a terminating pod may still write. */
async function stopPart(client: KubeClient, namespace: string, part: string, timeoutMs: number): Promise<void> {
  try {
    await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/lull-${part}/scale`, { body: { spec: { replicas: 0 } }, contentType: PATCH.merge });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    return;
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pods = await client.request<List<Named>>('GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: `app.kubernetes.io/component=${part}` } });
    if (pods.items.length === 0) {
      log(`${part} stopped`);
      return;
    }
    if (Date.now() > until) {
      log(`${part} still has ${pods.items.length} pod(s); going on`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function main(argv: string[]): Promise<number> {
  return runCommand('teardown', async () => {
    const { values } = parseFlags('teardown', argv, { 'lull-namespace': { type: 'string' }, timeout: { type: 'string' } });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const kc = loadCliKubeconfig(values);
    const client = kubeClient(kc);
    const lullNamespace = values['lull-namespace'] ?? (process.env.POD_NAMESPACE || SYSTEM_NAMESPACE);
    const timeoutMs = durationFlag('--timeout', values.timeout, 120_000);

    await stopPart(client, lullNamespace, 'reconciler', timeoutMs);

    const deployments = (await client.request<List<V1Deployment>>('GET', '/apis/apps/v1/deployments')).items;
    const managed = deployments.filter((d) => d.metadata?.annotations?.[STATE] !== undefined || d.metadata?.annotations?.[TOUCHED_AT] !== undefined);
    const sleeping = managed.filter(asleep);
    await Promise.all(
      sleeping.map(async (d) => {
        const { namespace, name } = d.metadata as { namespace: string; name: string };
        const { replicas } = await scaleUpFromZero(client, d);
        log(`deploy/${name} -n ${namespace}: woken to ${replicas}`);
        try {
          await waitForDeployment(client, namespace, name, ready, { what: 'wake up', timeoutMs, hint: () => `kubectl describe -n ${namespace} deploy/${name}` });
        } catch (err) {
          // Its Service reaches its pods once they are ready, whether or not we wait.
          log(`deploy/${name} -n ${namespace}: ${(err as Error).message}`);
        }
      }),
    );
    for (const d of managed) {
      const { namespace, name } = d.metadata as { namespace: string; name: string };
      const forget = { metadata: { annotations: { [STATE]: null, [REPLICAS_BEFORE_SLEEP]: null, [SLEPT_AT]: null, [TOUCHED_AT]: null } } };
      await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { body: forget, contentType: PATCH.merge }).catch((err) => {
        if (!isStatus(err, 404)) throw err;
      });
    }

    const slices = await client.request<List<Named>>('GET', '/apis/discovery.k8s.io/v1/endpointslices', { query: { labelSelector: `${MANAGED_BY_LABEL}=${SLICE_MANAGED_BY}` } });
    for (const s of slices.items) {
      await client.request('DELETE', `/apis/discovery.k8s.io/v1/namespaces/${s.metadata.namespace}/endpointslices/${s.metadata.name}`).catch((err) => {
        if (!isStatus(err, 404)) throw err;
      });
    }
    // The display copy of the route, and the reconciler's no-op touch.
    const services = (await client.request<List<Named>>('GET', '/api/v1/services')).items.filter((s) => s.metadata.annotations?.[INTERCEPTOR_PORTS] !== undefined || s.metadata.annotations?.[TOUCHED_AT] !== undefined);
    for (const s of services) {
      await client.request('PATCH', `/api/v1/namespaces/${s.metadata.namespace}/services/${s.metadata.name}`, { body: { metadata: { annotations: { [INTERCEPTOR_PORTS]: null, [TOUCHED_AT]: null } } }, contentType: PATCH.merge }).catch((err) => {
        if (!isStatus(err, 404)) throw err;
      });
    }
    // What the parts made at run time, not in the chart: the route records (the reconciler, stopped first,
    // is their only writer), the webhook's Secrets (once it is stopped, so it does not make them again)
    // and the reconciler's Lease.
    await stopPart(client, lullNamespace, 'webhook', timeoutMs);
    const records = await client.request<List<Named>>('GET', `/api/v1/namespaces/${lullNamespace}/configmaps`, { query: { labelSelector: ROUTE_SELECTOR } });
    const runtime = runtimeObjects(lullNamespace, records.items);
    for (const path of runtime) {
      await client.request('DELETE', path).catch((err) => {
        if (!isStatus(err, 404)) throw err;
      });
    }
    log(`teardown done: ${sleeping.length} app(s) woken, ${managed.length} forgotten, ${slices.items.length} interceptor slice(s), ${services.length} Service(s) and ${runtime.filter((p) => p.includes('/configmaps/')).length} route record(s) removed`);
    return 0;
  });
}
