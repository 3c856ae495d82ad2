// The one client of the sidecar's admin API (core/sidecar-contract.ts): straight to the pod from inside
// the cluster (the reconciler's activity questions, the interceptor's wait-ready long polls), or through
// the apiserver's pod proxy from a laptop (`lull status`). What an answer means is decided here once.
import { request } from 'node:http';
import type { KubeClient } from './kube-client.ts';
import { SIDECAR_PATHS, SIDECAR_WAIT_READY_MAX_MS, type ActivitySnapshot } from './sidecar-contract.ts';

/** A sidecar's admin port on a pod. */
export interface AdminTarget {
  address: string;
  port: number;
}

interface Answer {
  status: number;
  retryAfter: boolean;
  body: string;
}

/** A wait-ready connect that hangs (an address not routed yet) is retried rather than waited out. */
const CONNECT_TIMEOUT_MS = 1000;

/** One GET on a fresh connection (pods come and go: nothing worth keeping); rejects when the sidecar cannot be reached. */
function get(target: AdminTarget, path: string, timing: { timeoutMs: number; connectTimeoutMs: number; signal?: AbortSignal }): Promise<Answer> {
  const { timeoutMs, connectTimeoutMs, signal } = timing;
  return new Promise((resolve, reject) => {
    const req = request({ host: target.address, port: target.port, path, agent: false, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] !== undefined, body }));
    });
    req.setNoDelay(true);
    const connect = setTimeout(() => req.destroy(new Error(`connect to ${target.address}:${target.port} timed out`)), connectTimeoutMs);
    const whole = setTimeout(() => req.destroy(new Error(`${target.address}:${target.port} did not answer within ${timeoutMs}ms`)), timeoutMs);
    req.once('socket', (socket) => socket.once('connect', () => clearTimeout(connect)));
    req.once('close', () => {
      clearTimeout(connect);
      clearTimeout(whole);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pure: an activity answer's snapshot, or why it is none. */
export function activityOf(status: number, body: unknown): ActivitySnapshot | { error: string } {
  if (status !== 200) return { error: `the sidecar answered ${status}` };
  const snapshot = body as ActivitySnapshot;
  if (typeof snapshot?.lastActivityAt !== 'number' || typeof snapshot.now !== 'number') return { error: 'the sidecar answered something that is not an activity snapshot' };
  return snapshot;
}

/** `GET /lull/activity` of one pod, straight to it. */
export async function askActivity(target: AdminTarget, timeoutMs: number): Promise<ActivitySnapshot | { error: string }> {
  try {
    const answer = await get(target, SIDECAR_PATHS.activity, { timeoutMs, connectTimeoutMs: timeoutMs });
    let body: unknown;
    try {
      body = answer.status === 200 ? JSON.parse(answer.body) : undefined;
    } catch {
      body = undefined;
    }
    return activityOf(answer.status, body);
  } catch (err) {
    return { error: (err as Error).message || String(err) };
  }
}

/** `GET /lull/activity` of one pod through the apiserver's pod proxy (it works from outside the cluster). */
export async function askActivityThroughApiserver(client: KubeClient, pod: { namespace: string; name: string; port: number }, timeoutMs: number): Promise<ActivitySnapshot | { error: string }> {
  try {
    return activityOf(200, await client.request<ActivitySnapshot>('GET', `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}:${pod.port}/proxy${SIDECAR_PATHS.activity}`, { timeoutMs }));
  } catch (err) {
    return { error: (err as Error).message || String(err) };
  }
}

/** `busy`: the sidecar holds as many long polls as it allows (503 with Retry-After); ask again later. */
export type WaitResult = 'ready' | 'not-ready' | 'busy' | 'no-sidecar';

/** One `/lull/wait-ready` long poll. Rejects when the sidecar cannot be reached (not listening yet, pod gone). */
export async function waitReady(address: string, adminPort: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitResult> {
  // The sidecar refuses a longer wait than it allows: a longer hold asks again.
  const wait = Math.max(1, Math.min(SIDECAR_WAIT_READY_MAX_MS, Math.round(timeoutMs)));
  // The answer comes when the wait ends: the request may take that long, and a little more.
  const { status, retryAfter } = await get({ address, port: adminPort }, `${SIDECAR_PATHS.waitReady}?timeout=${wait}ms`, { timeoutMs: wait + 5000, connectTimeoutMs: CONNECT_TIMEOUT_MS, signal });
  return status === 200 ? 'ready' : status === 503 ? (retryAfter ? 'busy' : 'not-ready') : 'no-sidecar';
}
