// A kubelet-like readiness probe of a process under test, with its RSS and CPU read from /proc: GET
// `url` every period with a 1 s timeout, one at a time. It runs in a worker thread, so the bench's own
// event loop (fake sidecars, API writes) cannot delay a probe and be blamed on the process probed.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface ProbeReport {
  /** From the start to the first 200 answer; undefined when it never answered 200. */
  readyAfterMs: number | undefined;
  /** Probes sent after the first 200. */
  probes: number;
  /** After the first 200: no answer within the timeout, or no connection. */
  misses: number;
  /** After the first 200: answered, but not 200 (not ready). */
  notReady: number;
  /** Slowest answer after the first 200 (a miss counts as the timeout). */
  maxMs: number;
  rssMiB: number;
  peakRssMiB: number;
  /** User + system CPU of the process since the probe started. */
  cpuS: number;
}

interface Options {
  url: string;
  pid: number;
  periodMs: number;
  timeoutMs: number;
}

export interface Probe {
  report(): Promise<ProbeReport>;
  stop(): Promise<void>;
}

export function startProbe(url: string, pid: number, periodMs = 1000, timeoutMs = 1000): Probe {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, pid, periodMs, timeoutMs } satisfies Options });
  worker.unref();
  return {
    report: () =>
      new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('report');
      }),
    stop: async () => void (await worker.terminate()),
  };
}

// ---- in the worker -----------------------------------------------------------------------------

const TICKS_PER_S = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function get(url: string, timeoutMs: number): Promise<number | 'timeout' | 'error'> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}

function runWorker({ url, pid, periodMs, timeoutMs }: Options): void {
  const t0 = performance.now();
  const ticks0 = cpuTicks(pid);
  const r: ProbeReport = { readyAfterMs: undefined, probes: 0, misses: 0, notReady: 0, maxMs: 0, rssMiB: 0, peakRssMiB: 0, cpuS: 0 };
  const sample = () => {
    try {
      r.rssMiB = rssMiB(pid);
      r.peakRssMiB = Math.max(r.peakRssMiB, r.rssMiB);
      r.cpuS = (cpuTicks(pid) - ticks0) / TICKS_PER_S;
    } catch {
      // The process exited: keep its last figures.
    }
  };
  const tick = async () => {
    const start = performance.now();
    sample();
    const answer = await get(url, timeoutMs);
    const ms = performance.now() - start;
    if (r.readyAfterMs === undefined) {
      if (answer === 200) r.readyAfterMs = performance.now() - t0;
    } else {
      r.probes++;
      if (answer === 'timeout' || answer === 'error') r.misses++;
      else if (answer !== 200) r.notReady++;
      r.maxMs = Math.max(r.maxMs, answer === 'timeout' ? timeoutMs : ms);
    }
    // Like the kubelet: the next probe at the next period, never two at once; 10x as often before the
    // first ready answer, so the time to ready is measured to 0.1 s.
    const period = r.readyAfterMs === undefined ? periodMs / 10 : periodMs;
    setTimeout(tick, Math.max(0, period - (performance.now() - start)));
  };
  void tick();
  parentPort!.on('message', () => {
    sample();
    parentPort!.postMessage({ ...r });
  });
}

if (!isMainThread) runWorker(workerData as Options);
