// `lull reconciler`: wires configuration, informers, leader election, the controller and the server.
import { once } from 'node:events';
import { EXCLUDED_NAMESPACES } from '../core/annotations.ts';
import { eventRecorder, postEvent } from '../core/events.ts';
import { kubeClient, loadKubeConfig } from '../core/kube-client.ts';
import { createLogger } from '../core/log.ts';
import { activityClient } from './activity.ts';
import { api } from './api.ts';
import { parseConfig, USAGE, type ReconcilerConfig } from './config.ts';
import { Controller } from './controller.ts';
import { informer, type Change } from '../core/informer.ts';
import { parseSelector } from './labels.ts';
import { elector, kubeLeaseStore } from './leader.ts';
import { createMetrics } from './metrics.ts';
import { ROUTE_SELECTOR } from '../core/interceptor-contract.ts';
import { trimDeployment, trimNamespace, trimPod, trimRecord, trimService, trimSlice } from '../core/objects.ts';
import { Autoscaler } from './autoscale/loop.ts';
import { HPA_PATH, trimHpa } from './autoscale/hpa.ts';
import { loadReader } from './autoscale/load.ts';
import { buildServer } from './server.ts';
import { podIndex, sliceIndex, World, type Informers } from './world.ts';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: ReconcilerConfig;
  try {
    config = parseConfig(argv);
  } catch (err) {
    process.stderr.write(`lull reconciler: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const logger = createLogger('reconciler');
  const client = kubeClient(loadKubeConfig(config.kubeconfig));
  let controller: Controller | undefined;
  const metrics = createMetrics({
    appsByState: () => controller?.appsByState() ?? { awake: 0, sleeping: 0, waking: 0 },
    queueDepth: () => controller?.queue.depth ?? 0,
    deadlines: () => controller?.ctx.deadlines.size ?? 0,
  });

  // Lull's own namespace and kube-system are never managed: not worth caching either.
  const notExcluded = [...new Set([...EXCLUDED_NAMESPACES, config.namespace])].map((ns) => `metadata.namespace!=${ns}`).join(',');
  const common = { client, logger, maxBackoffMs: 5000 };
  const synced = (resource: string) => () => metrics.informerSynced.set({ resource }, 1);
  const forward = <T>(handler: (c: Controller) => (change: Change, object: T) => void) => (change: Change, object: T) => {
    if (controller) handler(controller)(change, object);
  };
  const informers: Informers = {
    namespaces: informer({ ...common, path: '/api/v1/namespaces', transform: trimNamespace, onChange: forward((c) => c.onNamespace), onSynced: synced('namespaces') }),
    deployments: informer({ ...common, path: '/apis/apps/v1/deployments', fieldSelector: notExcluded, transform: trimDeployment, onChange: forward((c) => c.onDeployment), onSynced: synced('deployments') }),
    // Every Service, everywhere: a route record may outlive its Service's namespace being managed.
    services: informer({ ...common, path: '/api/v1/services', transform: trimService, onChange: forward((c) => c.onService), onSynced: synced('services') }),
    slices: informer({ ...common, path: '/apis/discovery.k8s.io/v1/endpointslices', fieldSelector: notExcluded, transform: trimSlice, indexBy: sliceIndex, onChange: forward((c) => c.onSlice), onSynced: synced('endpointslices') }),
    pods: informer({ ...common, path: '/api/v1/pods', fieldSelector: notExcluded, transform: trimPod, indexBy: podIndex, onChange: forward((c) => c.onPod), onSynced: synced('pods') }),
    interceptors: informer({
      ...common,
      path: `/api/v1/namespaces/${config.interceptorNamespace}/pods`,
      labelSelector: config.interceptorSelector,
      transform: trimPod,
      onChange: forward((c) => c.onInterceptor),
      onSynced: synced('interceptors'),
    }),
    // The route table: in Lull's namespace, which only Lull writes (deploy/base/reconciler/rbac.yaml).
    routes: informer({ ...common, path: `/api/v1/namespaces/${config.namespace}/configmaps`, labelSelector: ROUTE_SELECTOR, transform: trimRecord, onChange: forward((c) => c.onRoute), onSynced: synced('routes') }),
  };
  for (const resource of Object.keys(informers)) metrics.informerSynced.set({ resource: resource === 'slices' ? 'endpointslices' : resource }, 0);

  const world = new World(informers, config.namespace, config.namespaceSelector ? parseSelector(config.namespaceSelector) : undefined);
  const activity = activityClient(config.queryTimeoutMs);
  controller = new Controller({
    world,
    api: api(client, config.namespace),
    ask: activity.ask,
    record: eventRecorder(postEvent(client), { component: 'lull-reconciler', instance: config.lease.identity }, logger),
    metrics,
    logger,
    workers: config.workers,
    wakeLeadMs: config.wakeLeadMs,
    sidecarVersion: config.sidecarVersion,
  });
  for (const i of Object.values(informers)) i.start();
  // Outside the Informers: a cluster that refuses HPAs must not keep the reconciler from leading; until it lists, nothing is autoscaled.
  const hpas = informer({ ...common, path: HPA_PATH, fieldSelector: notExcluded, transform: trimHpa, onSynced: synced('horizontalpodautoscalers') });
  hpas.start();
  const loads = loadReader(config.queryTimeoutMs);
  const autoscaler = new Autoscaler({ world, hpas, api: api(client, config.namespace), read: loads.read, record: eventRecorder(postEvent(client), { component: 'lull-reconciler', instance: config.lease.identity }, logger), metrics, logger });

  let stopping = false;
  const lead = elector({
    store: kubeLeaseStore(client, config.lease.namespace, config.lease.name, Math.max(500, Math.min(5000, config.lease.renewDeadlineMs / 2))),
    settings: config.lease,
    logger,
    onStartedLeading: () => {
      metrics.leader.set(1);
      controller!.start();
      autoscaler.start();
    },
    onStoppedLeading: () => {
      metrics.leader.set(0);
      autoscaler.stop();
      controller!.stop();
    },
    onLeaseError: (problem) => metrics.leaseErrors.inc({ code: problem.code }),
  });
  const server = buildServer({
    metrics,
    logger,
    status: () => {
      const problem = lead.problem();
      return { synced: world.synced(), leading: lead.isLeader(), identity: config.lease.identity, stopping, ...(lead.leader() ? { leader: lead.leader()! } : {}), ...(problem ? { leaseProblem: { message: problem.message, lasting: problem.lasting } } : {}) };
    },
  });
  await server.listen({ host: config.host, port: config.port });
  logger.info({ host: config.host, port: config.port, identity: config.lease.identity }, 'reconciler listening');

  const signal = Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  // Campaign only with full caches: a leader acting on half a picture would undo what it cannot see.
  const ready = Promise.all(Object.values(informers).map((i) => i.synced));
  const first = await Promise.race([ready.then(() => 'synced' as const), signal.then(() => 'signal' as const)]);
  if (first === 'synced') {
    logger.info('caches synced; campaigning for leadership');
    void lead.run();
    await signal;
  }

  stopping = true;
  logger.info('stopping');
  await lead.stop();
  autoscaler.stop();
  for (const i of Object.values(informers)) i.stop();
  hpas.stop();
  await activity.close();
  await loads.close();
  await server.close();
  return 0;
}
