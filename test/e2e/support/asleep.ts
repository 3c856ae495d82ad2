import type { Kubectl } from './kubectl.ts';
import { waitFor } from './wait.ts';

const LULL_SLICE = 'endpointslice.kubernetes.io/managed-by=reconciler.lull.dev';

/** Waits until the app is asleep for real: at zero, no pod left over, its Service routed to ready interceptors. Resolves its ClusterIP. */
export function asleepBehindInterceptor(kubectl: Kubectl, ns: string, name: string, timeoutMs = 120_000, intervalMs = 100): Promise<string> {
  return waitFor(`${ns}/${name} to sleep`, async () => {
    const d = await kubectl.json(['get', 'deploy', name, '-n', ns]);
    if (d.spec.replicas !== 0 || d.metadata.annotations?.['lull.dev/state'] !== 'sleeping') return false;
    if ((await kubectl.json(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.length > 0) return false;
    const slices = (await kubectl.json(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name},${LULL_SLICE}`])).items as any[];
    if (!slices.some((s) => s.endpoints?.some((e: any) => e.conditions?.ready !== false))) return false;
    return (await kubectl.json(['get', 'svc', name, '-n', ns])).spec.clusterIP as string;
  }, timeoutMs, intervalMs);
}
