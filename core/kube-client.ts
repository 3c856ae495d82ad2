// A small JSON client for the Kubernetes API: plain objects in and out, one connection pool, the
// credentials (including rotating service-account tokens) of a KubeConfig.
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { AgentOptions } from 'node:https';
import { Agent, fetch, request as undiciRequest, type Dispatcher } from 'undici';
import { errors, LullError } from './errors.ts';

export class KubeApiError extends LullError {
  readonly statusCode: number;
  readonly reason: string;
  constructor(method: string, path: string, statusCode: number, reason: string, message: string) {
    super(errors.kubeRequest, [method, path, statusCode, message]);
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const PATCH = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

export interface RequestOptions {
  body?: unknown;
  /** Defaults to application/json; patches name their kind (PATCH.merge, PATCH.json). */
  contentType?: string;
  query?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Extra request headers, e.g. Impersonate-User (tests acting as a ServiceAccount). */
  headers?: Record<string, string>;
}

/** One event of a watch stream; ERROR carries a Status (410: the version is too old, list again). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
}

export interface KubeClient {
  readonly config: KubeConfig;
  request<T>(method: Method, path: string, options?: RequestOptions): Promise<T>;
  /**
   * Streams `path?watch=true` on the same connection pool, calling `onEvent` per line; resolves when the
   * server ends the stream, rejects on an error answer (KubeApiError) or a broken connection.
   */
  watch(path: string, query: Record<string, string | undefined>, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

/**
 * `file` first; then, inside a pod with no KUBECONFIG, the service account; then the usual defaults
 * (KUBECONFIG, ~/.kube/config).
 */
export function loadKubeConfig(file?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export interface KubeClientOptions {
  /** How long an idle pooled connection is kept (undici's default: 4 s), so a rare call finds one open. */
  keepAliveMs?: number;
}

/** The KubeConfig's own TLS settings in an agent that keeps idle connections `keepAliveMs`; undefined through a proxy or without TLS. */
async function keptAliveAgent(kc: KubeConfig, keepAliveMs: number): Promise<Dispatcher | undefined> {
  const https: AgentOptions = {};
  await kc.applyToHTTPSOptions(https);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = https;
  const tls: AgentOptions = { ca, cert, key, pfx, passphrase, servername, ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}) };
  const options = kc.createDispatcherOptions(kc.getCurrentCluster(), tls);
  return options.type === 'agent' ? new Agent({ connect: options.connect, keepAliveTimeout: keepAliveMs, keepAliveMaxTimeout: keepAliveMs }) : undefined;
}

export function kubeClient(kc: KubeConfig, options: KubeClientOptions = {}): KubeClient {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no current cluster');
  // The KubeConfig builds a new agent per request; one shared pool keeps TLS connections alive.
  let dispatcher: Dispatcher | undefined;
  const kept = options.keepAliveMs === undefined ? undefined : keptAliveAgent(kc, options.keepAliveMs);
  /** The URL and the credentials of this moment (service-account tokens rotate). */
  async function prepare(method: Method, path: string, query: Record<string, string | undefined> = {}, extra: Record<string, string> = {}) {
    const url = new URL(server + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
    const ctx = new RequestContext(url.toString(), method);
    await kc.applySecurityAuthentication(ctx);
    dispatcher ??= (await kept) ?? (ctx.getDispatcher() as Dispatcher | undefined);
    const headers: Record<string, string> = { ...ctx.getHeaders(), ...extra, accept: 'application/json' };
    return { url, headers, ...(dispatcher ? { dispatcher } : {}) };
  }
  const failure = (method: string, path: string, status: number, text: string) => {
    let json: { reason?: string; message?: string } = {};
    try {
      json = JSON.parse(text) ?? {};
    } catch {}
    return new KubeApiError(method, path, status, json.reason ?? '', json.message ?? text.slice(0, 200));
  };
  return {
    config: kc,
    async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
      const { url, headers, dispatcher } = await prepare(method, path, options.query, options.headers);
      if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
      const response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        ...(dispatcher ? { dispatcher } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const text = await response.text();
      if (!response.ok) throw failure(method, path, response.status, text);
      try {
        return (text ? JSON.parse(text) : undefined) as T;
      } catch {
        return undefined as T;
      }
    },
    async watch(path, query, onEvent, signal) {
      const { url, headers, dispatcher } = await prepare('GET', path, { ...query, watch: 'true' });
      // No idle limit between events: the server's timeoutSeconds and the caller's signal bound a watch.
      const response = await undiciRequest(url, { method: 'GET', headers, signal, bodyTimeout: 0, headersTimeout: 30_000, ...(dispatcher ? { dispatcher } : {}) });
      if (response.statusCode >= 300) throw failure('GET', path, response.statusCode, await response.body.text());
      response.body.setEncoding('utf8');
      let pending = '';
      for await (const chunk of response.body as AsyncIterable<string>) {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim()) onEvent(JSON.parse(line) as WatchEvent);
        }
      }
    },
  };
}

/** True when `err` is an API answer with one of these HTTP statuses. */
export function isStatus(err: unknown, ...codes: number[]): boolean {
  return err instanceof KubeApiError && codes.includes(err.statusCode);
}
