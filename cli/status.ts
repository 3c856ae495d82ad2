// `lull status`: a kubectl-style table of the apps Lull manages and what each is doing.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../core/kube-client.ts';
import { errors, lullError } from '../core/errors.ts';
import { askActivity, type Activity } from './activity.ts';
import { autoscaleStatus, hpaOf, hpaProblem } from './autoscale.ts';
import { appView, isManaged } from './app-view.ts';
import { COMMON_USAGE, parseFlags } from './flags.ts';
import { connect, contextNamespace } from './kubeconfig.ts';
import { lullMissing, requireNamespace } from '../core/prerequisites.ts';
import { meantForLull, problemsOf } from './problems.ts';
import { listDeploymentEvents, listDeployments, listHpas, listPods, listServices, namespaceLabels, readClusterDefaults } from './read.ts';
import { runCommand } from './run.ts';
import { readInstalledRelease, sidecarDrift } from './sidecar-drift.ts';
import { formatStatus, statusItem, type Output } from './status-report.ts';
import { lastWakes } from './wakes.ts';

export const USAGE = `usage: lull status [-n NAMESPACE | -A] [-o wide|json|yaml]

The apps Lull manages: state (awake, sleeping, waking, onboarding), replicas ready/desired,
idle-after, last activity (asked of the sidecars), how long asleep, and the last wake's duration.
With -o wide, request-based scaling too: the target per pod, the load the sidecars saw in their last
second (OBSERVED), and the replicas that load calls for within min-max (DESIRED), or the HPA that
scales the app instead.
Below the table, each reason an app will not sleep or wake as expected; a Deployment whose lull.dev/
annotations are misspelt is listed as unmanaged, with the key it meant.

${COMMON_USAGE}
  -A, --all-namespaces      every namespace
  -o, --output <format>     wide (more columns), json or yaml
`;

const OUTPUTS: readonly Output[] = ['wide', 'json', 'yaml'];

/** Pods of each Deployment ("namespace/name"), by the pod's owner chain as the reconciler reads it. */
function podsByDeployment(pods: readonly V1Pod[], deployments: readonly V1Deployment[]): Map<string, V1Pod[]> {
  const out = new Map<string, V1Pod[]>(deployments.map((d) => [`${d.metadata?.namespace}/${d.metadata?.name}`, []]));
  for (const pod of pods) {
    const rs = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet' && o.controller);
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (!rs || !hash || !rs.name.endsWith(`-${hash}`)) continue;
    out.get(`${pod.metadata?.namespace}/${rs.name.slice(0, -hash.length - 1)}`)?.push(pod);
  }
  return out;
}

/** At most `limit` at once: a big cluster's status should not flood the API server's proxy. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function collectStatus(client: KubeClient, namespace: string | undefined, now = Date.now) {
  const [defaults, labels, deployments, installed] = await Promise.all([readClusterDefaults(client), namespaceLabels(client, namespace), listDeployments(client, namespace), readInstalledRelease(client)]);
  const managedSet = new Set(deployments.filter((d) => isManaged(d, labels.get(d.metadata?.namespace ?? ''))));
  // A Deployment whose opt-in is misspelt is shown too: `lull status` is where one looks for why it never sleeps.
  const shown = deployments.filter((d) => managedSet.has(d) || meantForLull(d));
  if (shown.length === 0) return [];
  const namespaces = [...new Set(shown.map((d) => d.metadata?.namespace ?? ''))];
  const one = namespaces.length === 1 ? namespaces[0] : namespace;
  const [events, pods, services, hpas] = await Promise.all([listDeploymentEvents(client, one), listPods(client, one), listServices(client, one), listHpas(client, one)]);
  const wakes = lastWakes(events);
  const podsOf = podsByDeployment(pods, shown);
  const views = shown
    .map((d) => {
      const view = appView(d, defaults.settings);
      const managed = managedSet.has(d);
      if (!managed) view.state = 'unmanaged';
      const hpa = hpaOf(d, hpas);
      const problems = problemsOf(d, managed, view.settings, services, deployments);
      if (hpa !== undefined && autoscaleStatus(d, undefined, hpa) !== undefined) problems.push(hpaProblem(hpa));
      const drift = managed ? sidecarDrift(d, installed) : undefined;
      if (drift !== undefined) problems.push(drift);
      return { view, problems, deployment: d, hpa };
    })
    .sort((a, b) => a.view.namespace.localeCompare(b.view.namespace) || a.view.name.localeCompare(b.view.name));
  const activities = await mapLimited(views, 8, ({ view: v }): Promise<Activity | undefined> =>
    v.state === 'sleeping' || v.state === 'unmanaged' || v.replicas === 0 ? Promise.resolve(undefined) : askActivity(client, podsOf.get(`${v.namespace}/${v.name}`) ?? []),
  );
  const at = now();
  return views.map(({ view: v, problems, deployment, hpa }, i) => {
    const item = statusItem(v, activities[i], wakes.get(`${v.namespace}/${v.name}`), at, problems);
    const autoscale = autoscaleStatus(deployment, activities[i], hpa);
    if (autoscale !== undefined) item.autoscale = autoscale;
    return item;
  });
}

export async function main(argv: string[]): Promise<number> {
  return runCommand('status', async () => {
    const { values, positionals } = parseFlags('status', argv, {});
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0) throw lullError(errors.cliUsage, `lull status takes no arguments (got ${JSON.stringify(positionals[0])}); -n NAMESPACE or -A choose where`);
    const output = (values.output ?? 'table') as Output;
    if (values.output !== undefined && !OUTPUTS.includes(output)) throw lullError(errors.cliUsage, `-o ${values.output}: choose wide, json or yaml`);
    if (values['all-namespaces'] && values.namespace) throw lullError(errors.cliUsage, '-n and -A together: choose one');
    const { kc, client } = await connect(values);
    const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? contextNamespace(kc));
    if (namespace !== undefined) await requireNamespace(client, namespace, 'kubectl get namespaces lists those there are');
    const items = await collectStatus(client, namespace);
    if (items.length === 0 && (output === 'table' || output === 'wide')) {
      const missing = await lullMissing(client);
      if (missing !== undefined) process.stderr.write(`${lullError(errors.lullNotInstalled, missing).message}\n`);
      process.stderr.write(`No apps managed by Lull ${namespace ? `in namespace ${namespace}` : 'in any namespace'}. Opt one in: kubectl annotate deploy/NAME lull.dev/enabled=true\n`);
      return 0;
    }
    process.stdout.write(formatStatus(items, output, namespace === undefined, Date.now()));
    return 0;
  });
}
