// The demo's six steps, each narrated with what it shows and how long it took.
import { statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { KubeConfig, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { INJECTED, SLEPT_AT } from '../core/annotations.ts';
import { formatDuration, humanDuration, preciseDuration } from '../core/duration.ts';
import { errors, lullError } from '../core/errors.ts';
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICE_MANAGED_BY } from '../core/interceptor-contract.ts';
import type { KubeClient } from '../core/kube-client.ts';
import { sidecarPortName } from '../core/sidecar-contract.ts';
import { displayState } from '../cli/app-view.ts';
import { waitForDeployment } from '../cli/wait.ts';
import { apply, leader, readManifests, render, rolledOut, type Manifests } from './install.ts';
import type { Kubectl } from './kubectl.ts';
import type { Narrator } from './narrator.ts';
import type { DemoOptions } from './options.ts';
import { APP, APP_PORT, sampleApp } from './sample-app.ts';
import { burst, get } from './traffic.ts';
import { followWake } from './wake-timeline.ts';
import { watchUntil } from '../core/wait-for.ts';

export interface Story {
  say: Narrator;
  kubectl: Kubectl;
  kc: KubeConfig;
  client: KubeClient;
  options: DemoOptions;
  repo: string;
}

export interface Facts {
  lull?: Manifests;
  url?: string;
  idleMs?: number;
  wakeMs?: number;
  status?: number;
}

/** Runs a step's body; a failure names what the demo was doing. */
async function doing<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw lullError(errors.demoStep, what, (err as Error).message);
  }
}

const shown = (repo: string, path: string) => {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : `${rel}${path === resolve(repo, 'deploy') ? '/' : ''}`;
};

export async function installLull(s: Story, facts: Facts): Promise<void> {
  const source = shown(s.repo, s.options.install);
  s.say.step(`Install Lull: kubectl apply ${statSync(s.options.install).isDirectory() ? '-k' : '-f'} ${source}`);
  const t0 = performance.now();
  const lull = await doing(`installed Lull from ${source}`, async () => {
    const manifests = readManifests(await render(s.kubectl, s.options.install));
    await apply(s.kubectl, s.options.install);
    return manifests;
  });
  s.say.done(`${lull.objects} objects applied: namespace ${lull.namespace}, RBAC, the parts, their Services, PodDisruptionBudgets and webhook configurations`, performance.now() - t0);
  const t1 = performance.now();
  await doing('waited for the parts to roll out', () => Promise.all(lull.parts.map((p) => rolledOut(s.kubectl, p, 180_000))));
  const leading = await doing('waited for a reconciler to lead', () => leader(s.client, lull.namespace, 60_000));
  s.say.done(`${lull.parts.map((p) => `${p.name.replace(/^lull-/, '')} ${p.replicas}/${p.replicas}`).join(', ')} running as pods`, performance.now() - t1);
  s.say.detail(`each under its own ServiceAccount (${lull.parts.map((p) => p.serviceAccount).join(', ')}) with least-privilege RBAC`);
  s.say.detail(`reconciler leader: ${leading}`);
  facts.lull = lull;
}

export async function deployApp(s: Story, facts: Facts): Promise<void> {
  const { namespace, idleAfter } = s.options;
  s.say.step(`Deploy a sample app: deploy/${APP} in namespace ${namespace}`);
  s.say.detail(`an ordinary Deployment and Service, plus two annotations: lull.dev/enabled=true, lull.dev/idle-after=${idleAfter}`);
  const t0 = performance.now();
  const manifests = sampleApp(namespace, idleAfter, resolve(s.repo, 'test/fixtures/http-app.ts'));
  await doing('deployed the sample app', () => s.kubectl(['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n')));
  const d = await doing('waited for the sample app to be onboarded and ready', () =>
    waitForDeployment(s.client, namespace, APP, (x) => displayState(x) === 'awake' && (x.status?.readyReplicas ?? 0) > 0 && (x.status?.updatedReplicas ?? 0) === (x.status?.replicas ?? 0), {
      what: 'come up with the sidecar',
      timeoutMs: 120_000,
      hint: () => `is Lull running? kubectl get pods -n ${facts.lull?.namespace ?? 'lull-system'}`,
    }),
  );
  s.say.done(`the webhook injected the sidecar (lull.dev/injected=${d.metadata?.annotations?.[INJECTED]}); 1/1 ready`, performance.now() - t0);
  const service = await doing('read the Service', () => s.client.request<{ spec: { clusterIP: string; ports: Array<{ targetPort: string | number }> } }>('GET', `/api/v1/namespaces/${namespace}/services/${APP}`));
  const routed = await doing('waited for the Service to be routed through the sidecar', () =>
    watchUntil<any, string>({ client: s.client, path: `/api/v1/namespaces/${namespace}/services`, fieldSelector: `metadata.name=${APP}` }, (c) => {
      const items = c.list();
      const target = items[0]?.spec?.ports?.[0]?.targetPort;
      return target === sidecarPortName(APP_PORT) ? String(target) : undefined;
    }, 60_000, 'the Service routed through the sidecar'),
  );
  s.say.done(`Service ${APP} now targets the sidecar (targetPort ${routed}), which records activity`);
  facts.url = `http://${service.spec.clusterIP}/`;
}

export async function serve(s: Story, facts: Facts): Promise<void> {
  s.say.step('Serving');
  const url = facts.url!;
  // kube-proxy takes a moment to follow the Service to the sidecar's port: until then requests reach
  // the app directly, unseen by the sidecar, and would not count as activity.
  await doing(`sent requests to ${url} until they pass through the sidecar`, () => throughSidecar(url));
  const b = await doing(`sent requests to ${url}`, () => burst(url, 20));
  s.say.done(`${b.count} requests to ${url}: ${b.ok} answered 200, median ${preciseDuration(b.medianMs)}, slowest ${preciseDuration(b.maxMs)}`);
  s.say.detail('straight to the app through its sidecar, which records each one; no Lull component is in between');
}

/** The app's /info tells who connected: its sidecar connects from the pod's loopback. */
async function throughSidecar(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = 'no answer';
  for (;;) {
    try {
      const a = await get(`${url}info`, 5000);
      const peer = a.status === 200 ? String((JSON.parse(a.body) as { remoteAddress?: string }).remoteAddress) : `status ${a.status}`;
      if (/^(127\.|::1$|::ffff:127\.)/.test(peer)) return;
      last = `answered from ${peer}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`requests still do not pass through the sidecar (${last})`);
    // Nothing to watch for kube-proxy's rules from here: a short pause, bounded by the deadline.
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function idle(s: Story, facts: Facts): Promise<void> {
  const { namespace, idleAfterMs } = s.options;
  s.say.step(`Idle: no requests for idle-after (${formatDuration(idleAfterMs)})`);
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const ms = performance.now() - t0;
    s.say.live(ms < idleAfterMs ? `no request for ${humanDuration(ms)} of ${formatDuration(idleAfterMs)}` : `idle for ${humanDuration(ms)}: the reconciler asks the sidecars, then puts the app to sleep`);
  }, 1000);
  let d;
  try {
    d = await doing('waited for the app to go to sleep', () =>
      waitForDeployment(s.client, namespace, APP, (x) => displayState(x) === 'sleeping', {
        what: 'go to sleep',
        timeoutMs: idleAfterMs + 90_000,
        hint: () => `the reconciler's log says why: kubectl logs -n ${facts.lull?.namespace ?? 'lull-system'} -l app.kubernetes.io/component=reconciler`,
      }),
    );
  } finally {
    clearInterval(ticker);
    s.say.endLive();
  }
  facts.idleMs = performance.now() - t0;
  const before = d.metadata?.annotations?.['lull.dev/replicas-before-sleep'] ?? '1';
  s.say.done(`asleep after ${preciseDuration(facts.idleMs)} without a request: lull.dev/state=sleeping, scaled from ${before} to 0 (slept at ${d.metadata?.annotations?.[SLEPT_AT]})`);
  const slice = await doing('looked for the interceptor EndpointSlice', () =>
    watchUntil<V1EndpointSlice, V1EndpointSlice>({ client: s.client, path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, labelSelector: `${SERVICE_NAME_LABEL}=${APP},${MANAGED_BY_LABEL}=${SLICE_MANAGED_BY}` }, (c) => c.list().find((x) => (x.endpoints ?? []).length > 0), 30_000, 'the interceptor EndpointSlice'),
  );
  const pods = slice.endpoints?.map((e) => e.targetRef?.name).filter(Boolean) ?? [];
  s.say.detail(`Service ${APP} now routes to the interceptor: EndpointSlice ${slice.metadata?.name} → ${pods.length} interceptor pods (${pods.join(', ')})`);
  const t1 = performance.now();
  await doing('waited for the old pod to stop', () =>
    // Up to the drain's 30 s and the grace period after it, and a busy controller-manager's lag.
    watchUntil<V1Pod, true>({ client: s.client, path: `/api/v1/namespaces/${namespace}/pods`, labelSelector: `app=${APP}` }, (c) => (c.list().length === 0 ? true : undefined), 240_000, 'the pod to stop'),
  );
  s.say.done('its pod drained (the sidecar waits for a quiet moment) and stopped: 0 pods, nothing running', performance.now() - t1);
}

export async function wake(s: Story, facts: Facts): Promise<void> {
  const { namespace } = s.options;
  const url = facts.url!;
  s.say.step('A request arrives');
  s.say.detail(`GET ${url}  (the app has 0 pods: the interceptor holds the connection and wakes it)`);
  let t0 = performance.now();
  const timeline = await followWake(s.client, namespace, APP, () => t0, (ms, line) => s.say.detail(`+${preciseDuration(ms).padStart(6)}  ${line}`));
  let answer;
  t0 = performance.now();
  try {
    answer = await doing(`sent a request to the sleeping app at ${url}`, () => get(url, 150_000));
  } catch (err) {
    timeline.stop();
    throw err;
  }
  facts.wakeMs = answer.ms;
  facts.status = answer.status;
  if (answer.status !== 200) throw lullError(errors.demoStep, 'woke the app', `the request was answered ${answer.status}: ${answer.body.trim()}`);
  s.say.done(`answered ${answer.status} "${answer.body.trim()}" in ${preciseDuration(answer.ms)}: held, woken, forwarded; nothing was dropped`);
  const t1 = performance.now();
  await doing('waited for the reconciler to finish the wake', () =>
    waitForDeployment(s.client, namespace, APP, (x) => displayState(x) === 'awake', { what: 'be awake', timeoutMs: 120_000, hint: () => 'the reconciler did not finish the wake' }),
  );
  // The reconciler's Woke Event closes the timeline; it is written just after the state, best effort.
  await Promise.race([timeline.seen('Woke'), new Promise((r) => setTimeout(r, 5000).unref())]);
  timeline.stop();
  s.say.done('awake: the interceptor slice is gone, requests go straight to the app again', performance.now() - t1);
  const after = await doing('sent requests to the awake app', () => burst(url, 5));
  s.say.detail(`next ${after.count} requests: median ${preciseDuration(after.medianMs)}`);
}

export function summary(s: Story, facts: Facts, cluster: { kubeconfig: string; kubectl: string }, clusterLeftUp: boolean): void {
  const { namespace } = s.options;
  const lullNs = facts.lull?.namespace ?? 'lull-system';
  s.say.blank();
  s.say.raw(`Serving → asleep after ${preciseDuration(facts.idleMs ?? 0)} idle → woken by a request, answered in ${preciseDuration(facts.wakeMs ?? 0)}.`);
  if (!clusterLeftUp) return;
  const cli = relative(process.cwd(), resolve(s.repo, 'bin/lull.ts')) || 'bin/lull.ts';
  const lines = [
    '',
    'The cluster is still up. Try it yourself:',
    `  export KUBECONFIG=${cluster.kubeconfig}`,
    `  export PATH=${resolve(s.repo, 'node_modules/.bin')}:${dirname(cluster.kubectl)}:$PATH   # Node 24 and the pinned kubectl`,
    `  node ${cli} status -n ${namespace}              # state, replicas, idle-after, last activity, last wake`,
    `  curl ${facts.url}                           # wakes it if asleep`,
    `  node ${cli} sleep deploy/${APP} -n ${namespace}     # asleep as soon as it is idle`,
    `  node ${cli} wake deploy/${APP} -n ${namespace}      # awake now, without a request`,
    `  kubectl describe deploy/${APP} -n ${namespace}      # Events: Onboarded, Slept, Waking, Woke`,
    `  kubectl get pods -n ${lullNs}                  # Lull itself`,
    `  kubectl annotate deploy/YOURS lull.dev/enabled=true   # any Deployment with a Service`,
    '',
    'When done: npm run cluster -- down',
  ];
  for (const line of lines) s.say.raw(line);
}
