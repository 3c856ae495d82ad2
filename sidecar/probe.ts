// One readiness check of the app: a TCP connect, or the app container's own readiness probe (a
// Kubernetes Probe passed in by the webhook) run the way the kubelet runs it.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export type AppCheck =
  | { kind: 'tcp'; host: string; port: number; timeoutMs: number }
  | { kind: 'http'; scheme: 'http' | 'https'; host: string; port: number; path: string; headers: [string, string][]; timeoutMs: number };

export interface ProbeSpecError {
  error: string;
}

/** The kubelet's default probe timeout (timeoutSeconds: 1). */
const DEFAULT_TIMEOUT_MS = 1000;

function portOf(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Turns a Kubernetes Probe into a check. exec and grpc probes cannot run from the sidecar's container,
 * so they (and a missing probe) become a TCP connect to `fallbackPort`.
 */
export function checkFromProbe(probe: unknown, host: string, fallbackPort: number): AppCheck | ProbeSpecError {
  const tcp: AppCheck = { kind: 'tcp', host, port: fallbackPort, timeoutMs: DEFAULT_TIMEOUT_MS };
  if (probe === undefined || probe === null) return tcp;
  if (typeof probe !== 'object' || Array.isArray(probe)) return { error: 'a Kubernetes Probe object' };
  const p = probe as Record<string, unknown>;
  const timeoutMs = typeof p.timeoutSeconds === 'number' && p.timeoutSeconds > 0 ? p.timeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS;
  if (p.httpGet !== undefined) {
    const g = p.httpGet as Record<string, unknown>;
    const port = portOf(g.port);
    if (port === undefined) return { error: 'httpGet.port must be a port number (1-65535); the webhook resolves named ports' };
    const scheme = g.scheme === undefined || g.scheme === 'HTTP' ? 'http' : g.scheme === 'HTTPS' ? 'https' : undefined;
    if (scheme === undefined) return { error: 'httpGet.scheme must be HTTP or HTTPS' };
    const headers: [string, string][] = [];
    if (Array.isArray(g.httpHeaders)) {
      for (const h of g.httpHeaders as { name?: unknown; value?: unknown }[]) {
        if (typeof h?.name !== 'string' || typeof h.value !== 'string') return { error: 'httpGet.httpHeaders entries need a name and a value' };
        headers.push([h.name, h.value]);
      }
    }
    const path = typeof g.path === 'string' && g.path !== '' ? g.path : '/';
    return { kind: 'http', scheme, host: typeof g.host === 'string' && g.host !== '' ? g.host : host, port, path, headers, timeoutMs };
  }
  if (p.tcpSocket !== undefined) {
    const t = p.tcpSocket as Record<string, unknown>;
    const port = portOf(t.port);
    if (port === undefined) return { error: 'tcpSocket.port must be a port number (1-65535); the webhook resolves named ports' };
    return { kind: 'tcp', host: typeof t.host === 'string' && t.host !== '' ? t.host : host, port, timeoutMs };
  }
  if (p.exec !== undefined || p.grpc !== undefined) return { ...tcp, timeoutMs };
  return { error: 'a Kubernetes Probe with httpGet, tcpSocket, exec or grpc' };
}

/** Runs one check: true when the app accepts (TCP) or answers 200-399 (HTTP), as the kubelet decides. */
export function runCheck(check: AppCheck, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (check.kind === 'tcp') {
      const socket = connect({ host: check.host, port: check.port, timeout: check.timeoutMs, signal });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
      return;
    }
    // node:https (TLS, crypto) only for an HTTPS probe: loading it costs a waking sidecar ~10 ms.
    const request = check.scheme === 'https' ? process.getBuiltinModule('node:https').request : httpRequest;
    const headers: Record<string, string> = { 'User-Agent': 'lull-sidecar/probe', Accept: '*/*', Connection: 'close' };
    for (const [name, value] of check.headers) headers[name] = value;
    const req = request(
      {
        host: check.host,
        port: check.port,
        path: check.path,
        headers,
        agent: false,
        timeout: check.timeoutMs,
        signal,
        rejectUnauthorized: false, // The kubelet does not verify the app's certificate either.
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
