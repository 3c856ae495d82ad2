// Accepts on one fronted port. The app connection is opened at once, in parallel with sniffing, so
// whichever side speaks first decides: client bytes that start an HTTP/1.x request line mean layer 7,
// other client bytes or any bytes from the app (a server-speaks-first protocol) mean layer 4. No
// sniff timeout is needed, and nothing waits on one.
import { createServer, type Server, type Socket } from 'node:net';
import type { Activity } from './activity.ts';
import type { ClientSockets } from './clients.ts';
import { HttpConnection, type ForwardContext } from './forward.ts';
import { sniff } from '../core/sniff.ts';
import { Tunnel } from './tunnel.ts';
import type { Upstream, UpstreamOwner } from './upstream.ts';

export interface ListenerContext extends ForwardContext {
  clients: ClientSockets;
}

/** How long a client may stay silent after the app refused, before we know whether it wanted HTTP (502) or not (close). */
export const REFUSED_GRACE_MS = 1000;

function noop(): void {}

export function createListener(ctx: ListenerContext): Server {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => accept(client, ctx));
  return server;
}

function accept(client: Socket, ctx: ListenerContext): void {
  client.on('error', noop); // 'close' follows; the handlers below clean up.
  ctx.clients.add(client);
  new Sniffer(client, ctx);
}

/** Holds a new connection until its first bytes (from either side) decide how to forward it. */
class Sniffer implements UpstreamOwner {
  #client: Socket;
  #ctx: ListenerContext;
  #up: Upstream;
  #seen: Buffer | null = null;
  #decided = false;
  #refusedTimer: NodeJS.Timeout | undefined;

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
      return;
    }
    this.#seen = null;
    if (verdict === 'http1') this.#http(seen);
    else this.#tcp(seen, null);
  };

  #onEnd = (): void => {
    // The client finished without a full request line: whatever it sent goes through as it is.
    if (!this.#decided) this.#tcp(this.#seen ?? Buffer.alloc(0), null, true);
  };

  #onClose = (): void => {
    if (this.#decided) return;
    this.#settle();
    this.#up.owner = null;
    this.#up.socket.destroy();
  };

  #settle(): void {
    this.#decided = true;
    clearTimeout(this.#refusedTimer);
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
    const conn = new HttpConnection(this.#client, up, ctx);
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
