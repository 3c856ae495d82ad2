// Reads a component's health (HTTP endpoints, the Node's Ready condition, API objects), and waits
// for it with a deadline while watching that the process is still alive.
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Health } from './components.ts';
import { apiserverUrl } from './kubeconfig.ts';
import type { ClusterLayout } from './layout.ts';
import { pkiPaths } from './pki.ts';

export interface ProbeResult {
  ok: boolean;
  /** Why not, in a few words, for the error a user reads. */
  detail: string;
}

export interface Tls {
  ca: string;
  cert: string;
  key: string;
}

export async function loadTls(layout: ClusterLayout): Promise<Tls> {
  const p = pkiPaths(layout);
  const [ca, cert, key] = await Promise.all([readFile(p.caCert, 'utf8'), readFile(p.cert('admin'), 'utf8'), readFile(p.key('admin'), 'utf8')]);
  return { ca, cert, key };
}

export function httpGet(url: string, tls: Tls | undefined, mode: 'none' | 'server' | 'client', timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const secure = url.startsWith('https:');
    const options = secure && tls ? { ca: tls.ca, ...(mode === 'client' ? { cert: tls.cert, key: tls.key } : {}) } : {};
    const req = (secure ? httpsRequest : httpRequest)(url, { method: 'GET', timeout: timeoutMs, agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET on the apiserver as admin; JSON body or undefined on 404. */
export async function apiGet<T>(layout: ClusterLayout, tls: Tls, path: string): Promise<T | undefined> {
  const res = await httpGet(`${apiserverUrl(layout)}${path}`, tls, 'client');
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as T;
}

interface NodeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** Ready=True on the Node; otherwise says what its Ready condition reports. */
export function nodeReadiness(node: NodeObject | undefined): ProbeResult {
  if (node === undefined) return { ok: false, detail: 'the Node is not registered' };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready === undefined) return { ok: false, detail: 'the Node has no Ready condition yet' };
  if (ready.status === 'True') return { ok: true, detail: 'Ready' };
  return { ok: false, detail: `Node Ready=${ready.status}${ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : ''}` };
}

export async function probe(health: Health, layout: ClusterLayout, tls: Tls | undefined): Promise<ProbeResult> {
  try {
    if (health.kind === 'node-ready') {
      if (tls === undefined) return { ok: false, detail: 'no admin certificate' };
      return nodeReadiness(await apiGet<NodeObject>(layout, tls, `/api/v1/nodes/${health.nodeName}`));
    }
    const res = await httpGet(health.url, tls, health.tls);
    if (res.status === 200) return { ok: true, detail: 'ok' };
    return { ok: false, detail: `${health.url} answered ${res.status}: ${res.body.trim().split('\n').filter((l) => l.includes('[-]') || !l.startsWith('[')).slice(0, 5).join(' ').slice(0, 300)}` };
  } catch (err) {
    const detail = health.kind === 'http' ? `${health.url}: ${(err as Error).message}` : (err as Error).message;
    return { ok: false, detail };
  }
}

export type WaitOutcome = { ok: true } | { ok: false; reason: string };

/** Polls `check` until it is ok, the deadline passes, or `exited` settles (the process died). */
export async function waitUntil(
  check: () => Promise<ProbeResult>,
  options: { timeoutMs: number; intervalMs?: number; exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }> },
): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  let exit: string | undefined;
  void options.exited?.then(({ code, signal }) => (exit = signal ? `it was killed by ${signal}` : `it exited with code ${code}`));
  let last: ProbeResult = { ok: false, detail: 'not checked yet' };
  for (;;) {
    if (exit !== undefined) return { ok: false, reason: exit };
    last = await check();
    if (last.ok) return { ok: true };
    if (Date.now() >= deadline) return { ok: false, reason: `not healthy after ${Math.round(options.timeoutMs / 1000)}s (${last.detail})` };
    await sleep(options.intervalMs ?? 100);
  }
}
