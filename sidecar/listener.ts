// Accepts on one fronted port. The app connection is opened at once, in parallel with sniffing, so
// whichever side speaks first decides: client bytes that start an HTTP/1.x request line mean layer 7,
// bytes that look like HTTP/1.x but are not well-formed are refused (400), other client bytes or any
// bytes from the app (a server-speaks-first protocol) mean layer 4. A first line left unfinished is
// cut off after the head timeout; connections past the cap are refused.
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errors, lullError, type LullError } from '../core/errors.ts';
import type { Activity } from './activity.ts';
import type { ClientSockets } from './clients.ts';
import { HttpConnection, type ForwardContext } from './forward.ts';
import { sniff } from '../core/sniff.ts';
import { refusalResponse } from './refusal.ts';
import { Tunnel } from './tunnel.ts';
import type { Upstream, UpstreamOwner } from './upstream.ts';

export interface ListenerContext extends ForwardContext {
  clients: ClientSockets;
}

/** How long a client may stay silent after the app refused, before we know whether it wanted HTTP (502) or not (close). */
export const REFUSED_GRACE_MS = 1000;

/** How long a client past the connection cap is given to show it speaks HTTP (and gets a 503). */
export const FULL_GRACE_MS = 1000;

function noop(): void {}

export function createListener(ctx: ListenerContext): Server {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => accept(client, ctx));
  // Head and idle timeouts are checked in one sweep, as Node's http server does: no timer per request.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const conn of ctx.connections) conn.checkTimeouts(now);
  }, Math.min(1000, ctx.limits.headTimeoutMs, ctx.limits.idleTimeoutMs)).unref();
  server.on('close', () => clearInterval(sweep));
  return server;
}

function accept(client: Socket, ctx: ListenerContext): void {
  client.on('error', noop); // 'close' follows; the handlers below clean up.
  const full = ctx.clients.open.size >= ctx.limits.maxConnections;
  ctx.clients.add(client);
  if (full) refuseFull(client, ctx);
  else new Sniffer(client, ctx);
}

/** Answers 503 to an HTTP client past the cap and closes anything else, without touching the app. */
function refuseFull(client: Socket, ctx: ListenerContext): void {
  const err = lullError(errors.sidecarFull, ctx.limits.maxConnections);
  ctx.metrics.refused(err.code);
  let seen: Buffer | null = null;
  const timer = setTimeout(() => client.destroy(), FULL_GRACE_MS);
  client.on('data', (chunk: Buffer) => {
    seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const verdict = sniff(seen);
    if (verdict === 'more') return;
    clearTimeout(timer);
    client.removeAllListeners('data');
    if (verdict === 'http1' || verdict === 'malformed') endWith(client, err);
    else client.destroy();
  });
  client.on('end', () => client.destroy());
  client.once('close', () => clearTimeout(timer));
}

/** Sends a refusal and closes; what the client still sends meanwhile is read and dropped. */
function endWith(client: Socket, err: LullError): void {
  client.on('data', noop);
  client.end(refusalResponse(err), 'latin1');
  setTimeout(() => client.destroy(), FULL_GRACE_MS).unref();
}

/** Holds a new connection until its first bytes (from either side) decide how to forward it. */
class Sniffer implements UpstreamOwner {
  #client: Socket;
  #ctx: ListenerContext;
  #up: Upstream;
  #seen: Buffer | null = null;
  #decided = false;
  #refusedTimer: NodeJS.Timeout | undefined;
  #headTimer: NodeJS.Timeout | undefined;
  /** performance.now() when a first line started arriving in pieces; 0 when it came whole. */
  #since = 0;

  constructor(client: Socket, ctx: ListenerContext) {
    this.#client = client;
    this.#ctx = ctx;
    this.#up = ctx.pool.connect(this);
    client.on('data', this.#onData);
    client.on('end', this.#onEnd);
    client.on('close', this.#onClose);
  }

  #onData = (chunk: Buffer): void => {
    const seen = this.#seen === null ? chunk : Buffer.concat([this.#seen, chunk]);
    const verdict = sniff(seen);
    if (verdict === 'more') {
      this.#seen = seen;
      if (this.#headTimer === undefined) {
        this.#since = performance.now();
        this.#headTimer = setTimeout(this.#onHeadTimeout, this.#ctx.limits.headTimeoutMs);
      }
      return;
    }
    this.#seen = null;
    if (verdict === 'http1') this.#http(seen);
    else if (verdict === 'malformed') this.#refuse(lullError(errors.malformedRequest, 'the request line is not "METHOD target HTTP/1.x" ending with CRLF'));
    else this.#tcp(seen, null);
  };

  #onHeadTimeout = (): void => {
    if (this.#decided) return;
    // A first line that is still a prefix of a request line after this long: a slow or stuck client.
    const seen = this.#seen;
    if (seen !== null && seen.includes(0x20)) this.#refuse(lullError(errors.headTimeout, this.#ctx.limits.headTimeoutMs));
    else {
      this.#settle();
      this.#dropApp();
      this.#client.destroy();
    }
  };

  /** Near-HTTP input: answered here, never tunnelled to the app (which might parse it differently). */
  #refuse(err: LullError): void {
    this.#settle();
    this.#dropApp();
    this.#ctx.metrics.refused(err.code);
    endWith(this.#client, err);
  }

  #dropApp(): void {
    this.#up.owner = null;
    this.#up.socket.destroy();
  }

  #onEnd = (): void => {
    // The client finished without a full request line: whatever it sent goes through as it is.
    if (!this.#decided) this.#tcp(this.#seen ?? Buffer.alloc(0), null, true);
  };

  #onClose = (): void => {
    if (this.#decided) return;
    this.#settle();
    this.#dropApp();
  };

  #settle(): void {
    this.#decided = true;
    clearTimeout(this.#refusedTimer);
    clearTimeout(this.#headTimer);
    const client = this.#client;
    client.removeListener('data', this.#onData);
    client.removeListener('end', this.#onEnd);
    client.removeListener('close', this.#onClose);
  }

  #http(seen: Buffer): void {
    this.#settle();
    const ctx = this.#ctx;
    ctx.metrics.connection('http1');
    const up = this.#up.closed ? null : this.#up;
    if (up === null) this.#up.owner = null;
    const conn = new HttpConnection(this.#client, up, ctx, this.#since);
    conn.onClientData(seen);
  }

  #tcp(clientBytes: Buffer, appBytes: Buffer | null, clientEnded = false): void {
    this.#settle();
    const { activity, metrics } = this.#ctx;
    const up = this.#up;
    if (up.closed && up.error !== undefined) {
      this.#client.destroy(); // App not listening: other protocols are closed.
      return;
    }
    metrics.connection('tcp');
    activity.connectionOpened();
    const tunnel = new Tunnel(this.#client, up, bytesArrived(activity), () => activity.connectionClosed());
    if (clientBytes.length > 0) activity.bytesArrived(Date.now());
    tunnel.toUpstream(clientBytes);
    if (appBytes !== null) tunnel.toClient(appBytes);
    if (clientEnded) up.socket.end();
  }

  onUpstreamData(chunk: Buffer): void {
    this.#tcp(this.#seen ?? Buffer.alloc(0), chunk); // The app spoke first: not HTTP.
  }

  onUpstreamEnd(): void {
    this.#tcp(this.#seen ?? Buffer.alloc(0), null);
    this.#client.end();
  }

  onUpstreamDrain(): void {}

  onUpstreamClose(error: Error | undefined): void {
    if (error === undefined) {
      this.#tcp(this.#seen ?? Buffer.alloc(0), null);
      return;
    }
    // Refused: wait briefly for the client's first bytes to choose between a 502 and a close.
    this.#refusedTimer = setTimeout(() => {
      if (!this.#decided) {
        this.#settle();
        this.#client.destroy();
      }
    }, REFUSED_GRACE_MS);
  }
}

function bytesArrived(activity: Activity): () => void {
  return () => activity.bytesArrived(Date.now());
}
