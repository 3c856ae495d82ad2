// One pod's life on the node: sandbox, init containers, native sidecars, containers, status, and
// termination with preStop hooks and the grace period.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeletApi } from './api.ts';
import type { KubeletConfig } from './config.ts';
import { ContainerRunner, type ContainerHost } from './container.ts';
import { buildEnv, envReferences, expand, serviceEnv } from './env.ts';
import type { PodTarget } from './handlers.ts';
import { containerArgv } from './images.ts';
import { imageProcessSpec } from './image-process.ts';
import { findImage } from './image-store.ts';
import type { AddressPool } from './ipam.ts';
import { createPodNetwork, deletePodNetwork, type PodNetwork } from './netns.ts';
import type { ProcessSpec } from './process.ts';
import { buildPodStatus, finalPhase, podKey, type PodPhase } from './status.ts';
import { containerMounts, ensureMountPoints, prepareVolumes, type PreparedVolumes } from './volumes.ts';

export interface PodDeps {
  config: KubeletConfig;
  api: KubeletApi;
  pool: AddressPool;
  log: Logger;
  createdMountPoints: Set<string>;
  userAgent: string;
  prefixLength: number;
}

const STATUS_DEBOUNCE_MS = 20;

export class PodWorker {
  private pod: V1Pod;
  private readonly deps: PodDeps;
  private readonly log: Logger;
  private network: PodNetwork | undefined;
  private volumes: PreparedVolumes | undefined;
  private readonly inits: ContainerRunner[] = [];
  private readonly sidecars: ContainerRunner[] = [];
  private readonly regular: ContainerRunner[] = [];
  private phase: PodPhase = 'Pending';
  private reason: string | undefined;
  private message: string | undefined;
  private readonly startTime = new Date();
  private lastStatus: V1PodStatus | undefined;
  private lastSent = '';
  private statusTimer: NodeJS.Timeout | undefined;
  private statusChain: Promise<void> = Promise.resolve();
  private terminating: Promise<void> | undefined;
  private svcEnv: Record<string, string> | undefined;
  private settingUp: Promise<void> | undefined;

  constructor(pod: V1Pod, deps: PodDeps) {
    this.pod = pod;
    this.deps = deps;
    this.log = deps.log.child({ pod: podKey(pod) });
    const host = this.containerHost();
    for (const c of pod.spec?.initContainers ?? []) {
      const runner = new ContainerRunner(c, c.restartPolicy === 'Always' ? 'sidecar' : 'init', host);
      this.inits.push(runner);
      if (c.restartPolicy === 'Always') this.sidecars.push(runner);
    }
    for (const c of pod.spec?.containers ?? []) this.regular.push(new ContainerRunner(c, 'regular', host));
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  private get podDir(): string {
    return join(this.deps.config.stateDir, 'pods', this.uid);
  }

  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) void this.terminate();
  }

  /** Runs the pod until its containers end for good or it is terminated. */
  async run(): Promise<void> {
    try {
      this.settingUp = this.setUp();
      await this.settingUp;
    } catch (err) {
      this.log.warn({ err }, 'pod sandbox failed');
      this.event('Warning', 'FailedCreatePodSandBox', (err as Error).message);
      this.reason = 'FailedCreatePodSandBox';
      this.message = (err as Error).message;
      this.changed();
      return;
    }
    if (this.terminating) return;
    for (const runner of this.inits) {
      if (this.terminating) return;
      if (runner.record.kind === 'sidecar') {
        void runner.supervise(() => true);
        await Promise.race([runner.whenStarted(), this.terminating]);
        continue;
      }
      const restartPolicy = this.pod.spec?.restartPolicy ?? 'Always';
      const last = await runner.supervise((t) => t.exitCode !== 0 && restartPolicy !== 'Never');
      if (last?.exitCode !== 0) {
        if (!this.terminating) { this.phase = 'Failed'; this.changed(); await this.stopAll(Date.now() + 30_000); }
        return;
      }
    }
    if (this.terminating) return;
    this.phase = 'Running';
    this.changed();
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    await Promise.all(this.regular.map((r) => r.supervise((t) => policy === 'Always' || (policy === 'OnFailure' && t.exitCode !== 0))));
    if (this.terminating) return;
    // Every container ended for good (restartPolicy Never/OnFailure): the sidecars stop too.
    this.phase = finalPhase(this.regular.map((r) => r.record));
    await this.stopAll(Date.now() + 30_000);
    this.changed();
  }

  private async setUp(): Promise<void> {
    if (this.pod.spec?.hostNetwork) throw new Error('hostNetwork pods are not supported by the test kubelet');
    const { config, api, pool, prefixLength } = this.deps;
    const ip = pool.allocate();
    this.network = await createPodNetwork(this.uid, ip, { bridge: config.bridge, gateway: config.gateway, prefixLength, netnsPrefix: config.netnsPrefix, vethPrefix: config.vethPrefix, peerVethPrefix: config.peerVethPrefix });
    await mkdir(this.podDir, { recursive: true });
    this.volumes = await prepareVolumes(this.pod, this.podDir, api, ip, config.gateway);
    this.changed();
  }

  /** Graceful termination, once, however often the deleted pod is seen again. */
  terminate(graceOverrideMs?: number): Promise<void> {
    this.terminating ??= this.doTerminate(graceOverrideMs);
    return this.terminating;
  }

  private async doTerminate(graceOverrideMs: number | undefined): Promise<void> {
    const graceSeconds = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + (graceOverrideMs ?? graceSeconds * 1000);
    this.log.info({ graceSeconds }, 'terminating pod');
    // Tearing down while the sandbox is still being built would leave half of it behind.
    await this.settingUp?.catch(() => undefined);
    for (const r of [...this.regular, ...this.inits]) if (r.running) this.event('Normal', 'Killing', `Stopping container ${r.spec.name}`);
    await this.stopAll(deadline);
    this.changed();
    await this.flushStatus();
    await this.tearDown();
    if (graceOverrideMs === undefined) await this.deps.api.deletePod(this.pod).catch((err) => this.log.warn({ err }, 'deleting the pod failed'));
  }

  /** Regular containers first, then sidecars in reverse order, as Kubernetes does for native sidecars. */
  private async stopAll(deadline: number): Promise<void> {
    await Promise.all([...this.regular, ...this.inits.filter((r) => r.record.kind === 'init')].map((r) => r.stop(deadline)));
    for (const sidecar of [...this.sidecars].reverse()) {
      // A sidecar always gets a moment to stop, even when the main containers used all the grace.
      await sidecar.stop(Math.max(deadline, Date.now() + 2000));
    }
  }

  private async tearDown(): Promise<void> {
    for (const t of this.volumes?.timers ?? []) clearInterval(t);
    if (this.network) {
      await deletePodNetwork(this.network);
      this.deps.pool.release(this.network.ip);
    }
    await rm(this.podDir, { recursive: true, force: true });
  }

  private containerHost(): ContainerHost {
    return {
      processSpec: (c) => this.processSpec(c),
      target: (c) => this.target(c),
      changed: () => this.changed(),
      event: (type, reason, message) => this.event(type, reason, message),
    };
  }

  private target(container: V1Container): PodTarget {
    return { podIP: this.network!.ip, netns: this.network!.netns, container, userAgent: this.deps.userAgent };
  }

  private async processSpec(container: V1Container): Promise<ProcessSpec | { reason: string; message: string }> {
    const { config, api } = this.deps;
    const ns = this.pod.metadata!.namespace!;
    const refs = envReferences(container);
    const configMaps = new Map<string, Record<string, string>>();
    const secrets = new Map<string, Record<string, string>>();
    try {
      for (const name of refs.configMaps) { const d = await api.configMap(ns, name); if (d) configMaps.set(name, d); }
      for (const name of refs.secrets) { const d = await api.secret(ns, name); if (d) secrets.set(name, d); }
      this.svcEnv ??= await this.serviceEnvironment(ns);
    } catch (err) {
      return { reason: 'CreateContainerConfigError', message: (err as Error).message };
    }
    const built = buildEnv(this.pod, container, { podIP: this.network!.ip, hostIP: config.gateway, serviceEnv: this.svcEnv, configMaps, secrets });
    if ('error' in built) return { reason: 'CreateContainerConfigError', message: built.error };
    const logFile = join(config.logDir, `${ns}_${this.pod.metadata!.name}`, `${container.name}.log`);
    const stored = await findImage(config.imageStores ?? [], container.image ?? '').catch((err: Error) => ({ error: err.message }));
    if (stored !== undefined && 'error' in stored) return { reason: 'ErrImagePull', message: stored.error };
    if (stored !== undefined) {
      const volumeMounts = containerMounts(container, this.volumes!);
      if ('error' in volumeMounts) return { reason: 'CreateContainerConfigError', message: volumeMounts.error };
      return imageProcessSpec({
        pod: this.pod, container, image: stored, env: built.env, expand, volumeMounts, podDir: this.podDir, podIP: this.network!.ip,
        netns: this.network!.netns, layerCache: config.layerCache ?? join(config.stateDir, 'layers'), logFile,
      });
    }
    const argv = containerArgv(container, { repoRoot: config.repoRoot, nodeBinary: config.nodeBinary });
    if ('error' in argv) return { reason: 'CreateContainerConfigError', message: argv.error };
    const mounts = containerMounts(container, this.volumes!);
    if ('error' in mounts) return { reason: 'CreateContainerConfigError', message: mounts.error };
    await ensureMountPoints(mounts, this.deps.createdMountPoints);
    const env = {
      PATH: `${join(config.nodeBinary, '..')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: '/root',
      HOSTNAME: this.pod.metadata!.name!,
      ...built.env,
    };
    return {
      argv: argv.map((a) => expand(a, built.env)),
      env,
      cwd: container.workingDir ?? config.repoRoot,
      netns: this.network!.netns,
      mounts,
      logFile,
    };
  }

  private async serviceEnvironment(namespace: string): Promise<Record<string, string>> {
    const { api, config } = this.deps;
    const services = this.pod.spec?.enableServiceLinks === false ? [] : await api.services(namespace);
    const env = serviceEnv(services.map((s) => ({ name: s.metadata!.name!, clusterIP: s.spec?.clusterIP, ports: (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port })) })));
    return { ...env, KUBERNETES_SERVICE_HOST: config.kubernetesServiceIP, KUBERNETES_SERVICE_PORT: '443', KUBERNETES_SERVICE_PORT_HTTPS: '443' };
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.deps.api.event(this.pod, type, reason, message).catch((err) => this.log.debug({ err }, 'event not recorded'));
  }

  /** Coalesces bursts of changes into one status write. */
  private changed(): void {
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      void this.flushStatus();
    }, STATUS_DEBOUNCE_MS);
  }

  private flushStatus(): Promise<void> {
    if (this.statusTimer) { clearTimeout(this.statusTimer); this.statusTimer = undefined; }
    this.statusChain = this.statusChain.then(() => this.sendStatus());
    return this.statusChain;
  }

  private async sendStatus(): Promise<void> {
    const status = buildPodStatus({
      phase: this.phase,
      podIP: this.network?.ip,
      hostIP: this.deps.config.gateway,
      startTime: this.startTime,
      sandboxReady: this.network !== undefined && !this.terminating,
      containers: [...this.inits, ...this.regular].map((r) => r.record),
      previous: this.lastStatus ?? this.pod.status,
      now: new Date(),
      reason: this.reason,
      message: this.message,
    });
    const text = JSON.stringify(status);
    if (text === this.lastSent) return;
    try {
      await this.deps.api.patchPodStatus(this.pod, status);
      this.lastSent = text;
      this.lastStatus = status;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      this.log.warn({ err }, 'status update failed; retrying');
      setTimeout(() => this.changed(), 500).unref();
    }
  }
}
