// One wrk run against a port, its results read from a Lua `done` hook: request count, errors and
// latency percentiles in whole microseconds (wrk's own text rounds them to two digits).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start } from './processes.ts';
import { HOST } from './servers.ts';

export const WRK = '/usr/bin/wrk';

const REPORT_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.stderr:write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
`;

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export function writeReportScript(dir: string): string {
  const file = join(dir, 'report.lua');
  writeFileSync(file, REPORT_SCRIPT);
  return file;
}

export interface WrkOptions {
  port: number;
  connections: number;
  threads: number;
  seconds: number;
  script: string;
  cpus: string | undefined;
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t', String(Math.min(o.threads, o.connections)), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '2s', '-s', o.script, `http://${HOST}:${o.port}/`];
  const run = start(WRK, args, { cpus: o.cpus });
  const [code] = await new Promise<[number | null]>((resolve) => run.child.once('exit', (c) => resolve([c])));
  const m = /WRK (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(run.stderr());
  if (code !== 0 || m === null) throw new Error(`wrk failed (exit ${code}):\n${run.stderr()}`);
  const [requests, durationUs, errors, p50Us, p99Us, maxUs] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const seconds = durationUs / 1e6;
  return { requests, seconds, rps: requests / seconds, errors, p50Us, p99Us, maxUs };
}
