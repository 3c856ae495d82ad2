// One container of a pod: start it, probe it, restart it when its policy says so, stop it gracefully.
import type { V1Container, V1ContainerStateTerminated, V1Probe } from '@kubernetes/client-node';
import { runHandler, type PodTarget } from './handlers.ts';
import { initialProbeState, probeTiming, recordProbe, restartBackoffMs, BACKOFF_RESET_MS, type ProbeState } from './probe-state.ts';
import { startProcess, type ContainerProcess, type Exit, type ProcessSpec } from './process.ts';
import type { ContainerKind, ContainerRecord } from './status.ts';

export interface ContainerHost {
  /** Everything needed to start the process, or a reason it cannot start (missing ConfigMap...). */
  processSpec(container: V1Container): Promise<ProcessSpec | { reason: string; message: string }>;
  target(container: V1Container): PodTarget;
  changed(): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export class ContainerRunner {
  readonly spec: V1Container;
  readonly record: ContainerRecord;
  private readonly host: ContainerHost;
  private process: ContainerProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private stopping = false;
  private crashes = 0;
  private probeTimers: NodeJS.Timeout[] = [];
  private wakeBackoff: (() => void) | undefined;
  private startedWaiters: (() => void)[] = [];

  constructor(spec: V1Container, kind: ContainerKind, host: ContainerHost) {
    this.spec = spec;
    this.host = host;
    this.record = { name: spec.name, image: spec.image ?? '', kind, state: { waiting: { reason: 'PodInitializing' } }, restartCount: 0, ready: false, started: false };
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Resolves once the container counts as started (its startup probe passed, or it is running). */
  whenStarted(): Promise<void> {
    if (this.record.started) return Promise.resolve();
    return new Promise((resolve) => this.startedWaiters.push(resolve));
  }

  /** Runs the container, restarting it while `restart(exit)` says so; returns its last exit. */
  async supervise(restart: (terminated: V1ContainerStateTerminated) => boolean): Promise<V1ContainerStateTerminated | undefined> {
    for (;;) {
      if (this.stopping) return this.record.state.terminated;
      const ranFor = await this.runOnce();
      const terminated = this.record.state.terminated;
      if (this.stopping || terminated === undefined || !restart(terminated)) return terminated;
      this.crashes = ranFor !== undefined && ranFor > BACKOFF_RESET_MS ? 1 : this.crashes + 1;
      const delay = restartBackoffMs(this.crashes);
      if (this.crashes > 1) {
        this.record.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.spec.name}` } };
        this.record.lastTerminated = terminated;
        this.host.changed();
        this.host.event('Warning', 'BackOff', `Back-off restarting failed container ${this.spec.name}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.crashes > 1 ? delay : 0);
        this.wakeBackoff = () => { clearTimeout(timer); resolve(); };
      });
      this.wakeBackoff = undefined;
      this.record.restartCount++;
    }
  }

  /** Starts the process once and waits for it to end; returns how long it ran, or undefined if it never started. */
  private async runOnce(): Promise<number | undefined> {
    const spec = await this.host.processSpec(this.spec);
    if (this.stopping) return undefined;
    if ('reason' in spec) {
      this.record.state = { waiting: { reason: spec.reason, message: spec.message } };
      this.host.changed();
      this.host.event('Warning', 'Failed', `Error: ${spec.message}`);
      // Not started: retry as a crash would, so a ConfigMap created later is picked up.
      this.record.state = { terminated: { exitCode: 128, reason: spec.reason, message: spec.message, finishedAt: new Date() } };
      this.host.changed();
      return undefined;
    }
    let proc: ContainerProcess;
    try {
      proc = await startProcess(spec);
    } catch (err) {
      const message = (err as Error).message;
      this.record.state = { terminated: { exitCode: 128, reason: 'StartError', message, finishedAt: new Date() } };
      this.host.event('Warning', 'Failed', `Error: ${message}`);
      this.host.changed();
      return undefined;
    }
    const startedAt = new Date();
    // stop() may have come while the process was being spawned: it must not outlive the pod.
    if (this.stopping) proc.signal('SIGKILL');
    this.process = proc;
    this.exited = proc.exited;
    if (this.record.state.terminated) this.record.lastTerminated = this.record.state.terminated;
    this.record.state = { running: { startedAt } };
    this.record.containerID = `lull-process://${proc.pid}`;
    this.host.event('Normal', 'Started', `Started container ${this.spec.name}`);
    this.startProbes(proc);
    this.host.changed();

    const exit = await proc.exited;
    this.stopProbes();
    this.process = undefined;
    this.record.ready = false;
    this.record.started = false;
    const finishedAt = new Date();
    const exitCode = exit.code ?? 128 + signalNumber(exit.signal);
    this.record.state = {
      terminated: {
        exitCode,
        ...(exit.signal ? { signal: signalNumber(exit.signal) } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt,
        containerID: this.record.containerID,
      },
    };
    this.host.changed();
    return finishedAt.getTime() - startedAt.getTime();
  }

  private setStarted(): void {
    if (this.record.started) return;
    this.record.started = true;
    for (const resolve of this.startedWaiters.splice(0)) resolve();
    this.host.changed();
  }

  private startProbes(proc: ContainerProcess): void {
    const { startupProbe, readinessProbe, livenessProbe } = this.spec;
    const afterStartup = () => {
      this.setStarted();
      if (readinessProbe) this.probeLoop(proc, readinessProbe, 'readiness', (ok) => { if (this.record.ready !== ok) { this.record.ready = ok; this.host.changed(); } });
      else { this.record.ready = true; this.host.changed(); }
      if (livenessProbe) this.probeLoop(proc, livenessProbe, 'liveness', (ok) => { if (!ok) this.restartUnhealthy(proc); });
    };
    if (startupProbe) {
      this.probeLoop(proc, startupProbe, 'startup', (ok, state) => {
        if (ok) { afterStartup(); return 'stop'; }
        if (state.failures >= probeTiming(startupProbe).failureThreshold) this.restartUnhealthy(proc);
        return undefined;
      });
    } else {
      afterStartup();
    }
  }

  private probeLoop(proc: ContainerProcess, probe: V1Probe, kind: 'readiness' | 'liveness' | 'startup', onResult: (ok: boolean, state: ProbeState) => 'stop' | void): void {
    const timing = probeTiming(probe);
    let state = initialProbeState(kind);
    const tick = async () => {
      if (this.process !== proc) return;
      const result = await runHandler(probe, this.host.target(this.spec), timing.timeoutMs);
      if (this.process !== proc) return;
      state = recordProbe(state, result.ok, timing);
      if (!result.ok) this.host.event('Warning', 'Unhealthy', `${kind[0]!.toUpperCase()}${kind.slice(1)} probe failed: ${result.message}`);
      const reported = kind === 'startup' ? result.ok && state.result : state.result;
      if (onResult(reported, state) === 'stop') return;
      this.probeTimers.push(setTimeout(tick, timing.periodMs));
    };
    this.probeTimers.push(setTimeout(tick, timing.initialDelayMs));
  }

  private stopProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers = [];
  }

  private restartUnhealthy(proc: ContainerProcess): void {
    if (this.process !== proc) return;
    this.stopProbes();
    this.host.event('Normal', 'Killing', `Container ${this.spec.name} failed its probe, will be restarted`);
    void this.signalAndWait(proc, 30_000);
  }

  /** preStop, SIGTERM, then SIGKILL at the deadline; never restarts afterwards. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.wakeBackoff?.();
    const proc = this.process;
    if (proc === undefined) return;
    const preStop = this.spec.lifecycle?.preStop;
    if (preStop) {
      const result = await runHandler(preStop, this.host.target(this.spec), Math.max(0, deadline - Date.now()));
      if (!result.ok) this.host.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message}`);
    }
    await this.signalAndWait(proc, Math.max(0, deadline - Date.now()));
  }

  private async signalAndWait(proc: ContainerProcess, graceMs: number): Promise<void> {
    proc.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => { timer = setTimeout(() => { proc.signal('SIGKILL'); resolve(); }, graceMs); });
    await Promise.race([proc.exited, killed]);
    clearTimeout(timer);
    await proc.exited;
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return signal ? table[signal] ?? 0 : 0;
}
