// `up`, `down` and `status` of the local cluster: the order of things, the waiting with timings, and
// recovery from a previous run that crashed or was killed.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { createLogger, type Logger } from '../../core/log.ts';
import { ensureArtefact } from './artefact.ts';
import { ensureImage } from './image.ts';
import { ensureBinaries, findBinaries, node24Binary, type Binaries } from './binaries.ts';
import {
  componentPlans,
  KUBELET_MAIN,
  kubeletConfig,
  kubeProxyConfig,
  STOP_ORDER,
  TIMEOUTS,
  type ComponentName,
  type ComponentPlan,
} from './components.ts';
import { hostEnv } from './exec.ts';
import { apiGet, loadTls, probe, waitUntil, type Tls } from './health.ts';
import { clusterFiles, clusterLayout, type ClusterLayout } from './layout.ts';
import { claim, claimFiles, claimOwner, release } from './claim.ts';
import { withLock } from './lock.ts';
import { cleanUpNetwork, networkLeftovers, setUpNetwork } from './network.ts';
import { ensurePki } from './pki.ts';
import { busyPorts, componentPorts } from './ports.ts';
import { assertHost } from './prerequisites.ts';
import { commandLine, logFilePath, pidFileNames, signal, spawnDetached, stopProcess } from './processes.ts';
import { clearStartedByTests } from './sharing.ts';
import { clusterStatus, isHealthy, kubeletInstalled, liveComponents, type ComponentStatus } from './status.ts';

export interface ClusterOptions {
  layout?: ClusterLayout;
  /** Human progress lines, e.g. "etcd ready (0.4s)". */
  progress?: (line: string) => void;
  log?: Logger;
  /** Build the binaries when none are found (default true). */
  build?: boolean;
}

interface Resolved {
  layout: ClusterLayout;
  progress: (line: string) => void;
  log: Logger;
}

function resolveOptions(options: ClusterOptions): Resolved {
  return {
    layout: options.layout ?? clusterLayout(),
    progress: options.progress ?? (() => {}),
    log: options.log ?? createLogger('cluster', process.env.LULL_LOG_LEVEL ?? 'warn'),
  };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Host-wide, as the bridge and ports are: one up or down at a time, whatever the state dir. */
const lockFile = (layout: ClusterLayout) => claimFiles(layout).lock;

/**
 * The host's cluster network may be held by the cluster of another state dir (another checkout):
 * refuse while that one runs; clean up after it when it died.
 */
async function settleForeignClaim(r: Resolved, binaries: Binaries | undefined): Promise<void> {
  const owner = await claimOwner(r.layout);
  if (owner === undefined || owner === r.layout.stateDir) return;
  if ((await liveComponents(owner)).length > 0) throw lullError(clusterErrors.clusterInUse, r.layout.bridge, owner, owner);
  await timed(r, () => `cleaned up after the cluster in ${owner}`, () => cleanUp({ ...r, layout: { ...r.layout, stateDir: owner } }, binaries));
}

/** Stops components in STOP_ORDER, then any other process of ours that lost its pid file. */
async function stopAll(r: Resolved): Promise<void> {
  const files = clusterFiles(r.layout);
  const known = new Set<string>(STOP_ORDER);
  const others = (await pidFileNames(files.pids)).filter((n) => !known.has(n));
  for (const name of [...STOP_ORDER, ...others]) {
    const t = performance.now();
    const grace = known.has(name) ? TIMEOUTS[name as ComponentName].stopGraceMs : 10_000;
    const outcome = await stopProcess(files.pids, name, r.layout.stateDir, grace);
    if (outcome !== 'not running') r.progress(`${name} ${outcome} (${seconds(performance.now() - t)})`);
  }
  for (const pid of await liveComponents(r.layout.stateDir)) {
    signal(pid, 'SIGKILL');
    r.progress(`killed stray process ${pid} (${commandLine(pid).slice(0, 80)})`);
  }
}

/** Everything of a previous run that would get in the way of a fresh start. */
async function leftovers(r: Resolved, statuses: readonly ComponentStatus[]): Promise<string[]> {
  const files = clusterFiles(r.layout);
  const found = statuses.filter((s) => s.state === 'ready' || s.state === 'unhealthy').map((s) => `${s.name} ${s.state}`);
  const dead = (await pidFileNames(files.pids)).filter((n) => !statuses.some((s) => s.name === n && s.pid !== undefined));
  found.push(...dead.map((n) => `stale pid file ${n}`));
  found.push(...(await networkLeftovers(r.layout)));
  if (existsSync(files.networkState)) found.push('network changes');
  return found;
}

/** Stops everything, removes network leftovers and runtime state; keeps the PKI, and the logs for whoever debugs. */
async function cleanUp(r: Resolved, binaries: Binaries | undefined): Promise<void> {
  await stopAll(r);
  const report = await cleanUpNetwork(r.layout, { kubeProxy: binaries?.paths['kube-proxy'] }, r.log);
  if (report.removed.length > 0) r.log.info({ removed: report.removed }, 'network cleaned up');
  const files = clusterFiles(r.layout);
  for (const dir of [files.etcdData, files.pids, files.kubeletDir, files.kubeconfigs, files.kubeProxyConfig]) {
    await rm(dir, { recursive: true, force: true });
  }
  await release(r.layout);
}

async function tail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function componentEnv(): NodeJS.ProcessEnv {
  // etcd reads any ETCD_* variable as a flag; components get their kubeconfig from flags only.
  const env = hostEnv();
  for (const key of Object.keys(env)) if (key.startsWith('ETCD_') || key === 'KUBECONFIG') delete env[key];
  return env;
}

async function startAndWait(plan: ComponentPlan, r: Resolved, tls: Tls): Promise<void> {
  const files = clusterFiles(r.layout);
  const t = performance.now();
  const log = logFilePath(files.logs, plan.name);
  const started = await spawnDetached({ ...plan.process, env: componentEnv() }, { pids: files.pids, logs: files.logs });
  const outcome = await waitUntil(() => probe(plan.health, r.layout, tls), { timeoutMs: plan.readyTimeoutMs, exited: started.exited });
  if (!outcome.ok) {
    const last = await tail(log);
    if (last !== '') r.progress(`--- last lines of ${log} ---\n${last}\n---`);
    throw lullError(clusterErrors.clusterComponentFailed, plan.name, outcome.reason, log);
  }
  r.progress(`${plan.name} ready (${seconds(performance.now() - t)})`);
}

async function timed<T>(r: Resolved, label: (result: T) => string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const result = await fn();
  r.progress(`${label(result)} (${seconds(performance.now() - t)})`);
  return result;
}

async function startAll(r: Resolved, binaries: Binaries): Promise<void> {
  const files = clusterFiles(r.layout);
  // Component logs are truncated as each starts; pod logs of the previous run would mislead.
  await rm(files.podLogs, { recursive: true, force: true });
  for (const dir of [files.logs, files.podLogs, files.pids, files.kubeletDir]) await mkdir(dir, { recursive: true });
  await mkdir(files.etcdData, { recursive: true, mode: 0o700 });

  await timed(r, (issued) => (issued.length === 0 ? 'certificates reused' : `certificates issued: ${issued.join(', ')}`), () => ensurePki(r.layout));
  await claim(r.layout);
  await timed(r, () => `network ready: ${r.layout.bridge} ${r.layout.gateway}, services ${r.layout.serviceCIDR}`, () => setUpNetwork(r.layout, r.log));
  const busy = await busyPorts(componentPorts(r.layout));
  if (busy.length > 0) throw lullError(clusterErrors.clusterPortInUse, busy.map((p) => `${p.host}:${p.port} for ${p.what}`).join(', '));

  const nodeBinary = node24Binary();
  await writeFile(files.kubeProxyConfig, stringify(kubeProxyConfig(r.layout)));
  await writeFile(files.kubeletConfig, `${JSON.stringify(kubeletConfig(r.layout, { kubernetesVersion: binaries.versions.kubernetes, nodeBinary }), null, 2)}\n`);

  const tls = await loadTls(r.layout);
  const plans = new Map(componentPlans(r.layout, binaries.paths, nodeBinary).map((p) => [p.name, p]));
  const plan = (name: ComponentName) => plans.get(name)!;
  await startAndWait(plan('etcd'), r, tls);
  await startAndWait(plan('kube-apiserver'), r, tls);

  const rest: ComponentName[] = ['kube-controller-manager', 'kube-scheduler', 'kube-proxy'];
  if (kubeletInstalled()) rest.push('kubelet');
  else r.progress(`kubelet skipped: ${KUBELET_MAIN} does not exist yet, so pods will stay Pending`);
  // Settle all before failing, so the cleanup that follows does not race a start still in flight.
  const results = await Promise.allSettled(rest.map((name) => startAndWait(plan(name), r, tls)));
  const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed !== undefined) throw failed.reason;

  await timed(r, () => 'default ServiceAccount ready', async () => {
    const outcome = await waitUntil(
      async () => ((await apiGet(r.layout, tls, '/api/v1/namespaces/default/serviceaccounts/default').catch(() => undefined)) !== undefined ? { ok: true, detail: '' } : { ok: false, detail: 'not created yet' }),
      { timeoutMs: 30_000 },
    );
    if (!outcome.ok) throw lullError(clusterErrors.clusterComponentFailed, 'kube-controller-manager (serviceaccount controller)', outcome.reason, logFilePath(files.logs, 'kube-controller-manager'));
  });

  // A component that was ready once can still die early (say, the kubelet on its first heartbeat).
  const unwell = (await clusterStatus(r.layout)).find((s) => s.state !== 'ready' && s.state !== 'absent');
  if (unwell !== undefined) {
    const last = await tail(unwell.log);
    if (last !== '') r.progress(`--- last lines of ${unwell.log} ---\n${last}\n---`);
    throw lullError(clusterErrors.clusterComponentFailed, unwell.name, `it was ready, then ${unwell.state === 'not running' ? 'exited' : `became unhealthy (${unwell.detail})`}`, unwell.log);
  }
}

export interface UpResult {
  alreadyRunning: boolean;
  kubeconfig: string;
  kubectl: string;
  kubeletRunning: boolean;
  durationMs: number;
}

export async function up(options: ClusterOptions = {}): Promise<UpResult> {
  const r = resolveOptions(options);
  await assertHost();
  return withLock(lockFile(r.layout), `the cluster network (${r.layout.bridge})`, async () => {
    const t0 = performance.now();
    const binaries = await ensureBinaries({
      build: options.build,
      onBuild: (why) => r.progress(`building the pinned control-plane binaries once (${why})`),
    });
    // Pods of the Lull image run dist/lull.mjs: built before any pod can start, also for a running cluster.
    await ensureArtefact(node24Binary(), r.progress);
    // ... and the image from it, registered in the store the kubelet runs it from (also for a running cluster).
    await ensureImage(r.layout, r.progress);
    const result = (alreadyRunning: boolean): UpResult => ({
      alreadyRunning,
      kubeconfig: clusterFiles(r.layout).adminKubeconfig,
      kubectl: binaries.paths.kubectl,
      kubeletRunning: kubeletInstalled(),
      durationMs: performance.now() - t0,
    });

    await settleForeignClaim(r, binaries);
    const statuses = await clusterStatus(r.layout);
    if (isHealthy(statuses)) {
      r.progress('the cluster is already running and healthy');
      return result(true);
    }
    const found = await leftovers(r, statuses);
    if (found.length > 0) {
      await timed(r, () => `cleaned up a previous run (${found.slice(0, 5).join(', ')}${found.length > 5 ? ', ...' : ''})`, () => cleanUp(r, binaries));
    }
    try {
      await startAll(r, binaries);
    } catch (err) {
      r.progress(`up failed; stopping what was started (logs stay in ${clusterFiles(r.layout).logs})`);
      await cleanUp(r, binaries).catch((cleanupErr: unknown) => r.log.error({ err: cleanupErr }, 'cleanup after a failed up failed too'));
      throw err;
    }
    r.progress(`cluster up in ${seconds(performance.now() - t0)}`);
    return result(false);
  }, { onWait: (pid) => r.progress(`waiting for another lull cluster command (pid ${pid}) to finish`) });
}

export async function down(options: ClusterOptions = {}): Promise<{ durationMs: number }> {
  const r = resolveOptions(options);
  await assertHost();
  return withLock(lockFile(r.layout), `the cluster network (${r.layout.bridge})`, async () => {
    const t0 = performance.now();
    const binaries = (await findBinaries()).found;
    await settleForeignClaim(r, binaries);
    await cleanUp(r, binaries);
    // The PKI stays, so the next up is faster and copied kubeconfigs stay valid; the logs stay until
    // the next up, for whoever wants to know what happened (`lull cluster logs`).
    const files = clusterFiles(r.layout);
    await rm(files.adminKubeconfig, { force: true });
    await clearStartedByTests(r.layout);
    r.progress(`cluster down (${seconds(performance.now() - t0)}); logs kept in ${files.logs}`);
    return { durationMs: performance.now() - t0 };
  }, { onWait: (pid) => r.progress(`waiting for another lull cluster command (pid ${pid}) to finish`) });
}
