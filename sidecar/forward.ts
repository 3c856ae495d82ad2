// Layer 7: one client connection speaking HTTP/1.x, forwarded to the app request by request. Bytes
// pass unchanged except the request head (X-Forwarded-*); heads are parsed only to frame bodies, count
// requests, follow upgrades and know when the app connection can be handed back to the pool.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errors, lullError } from '../core/errors.ts';
import type { Activity } from './activity.ts';
import { BodyFramer } from './body.ts';
import { forwardedHead, parseRequestHead, parseResponseHead } from './head.ts';
import type { SidecarMetrics } from './metrics.ts';
import type { Peer } from './peers.ts';
import { Tunnel } from './tunnel.ts';
import type { Upstream, UpstreamOwner, UpstreamPool } from './upstream.ts';

export interface ForwardContext {
  activity: Activity;
  metrics: SidecarMetrics;
  pool: UpstreamPool;
  appPort: number;
  isDraining: () => boolean;
  /** HTTP connections open now, so a drain can close the idle ones. */
  connections: Set<HttpConnection>;
  /** Where a client is (peers.ts): only the node's and the pod's kube-probe requests are probes. */
  peer(remoteAddress: string | undefined): Peer;
}

/** Longest request or response head accepted (Node's default is 16 KiB). */
export const MAX_HEAD = 64 * 1024;
/** Idle keep-alive client connections are closed after this: longer than common client pools keep theirs. */
export const CLIENT_IDLE_MS = 5 * 60_000;

const CRLF2 = '\r\n\r\n';
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

// Request side.
const REQ_HEAD = 0;
const REQ_BODY = 1;
const REQ_AWAIT_UPGRADE = 2;
const REQ_DONE = 3;
// Why reading from the client is paused (bits).
const PAUSE_UP_FULL = 1;
const PAUSE_UPGRADE = 2;
const PAUSE_DONE = 4;

interface Exchange {
  method: string;
  startedAt: number;
  /** Counted as activity (not a kubelet probe). */
  counted: boolean;
  upgrade: boolean;
  close: boolean;
  /** The head sent to the app, kept while a body-less idempotent request may be retried. */
  retryHead: string | null;
  retried: boolean;
}

function plainResponse(status: number, reason: string, text: string): string {
  const body = `${text}\n`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export class HttpConnection implements UpstreamOwner {
  #client: Socket;
  #ctx: ForwardContext;
  #clientAddress: string;
  /** The kubelet can be here: the node or the pod itself, not another pod sending a kube-probe User-Agent. */
  #kubeletSide: boolean;
  #up: Upstream | null;
  #req = REQ_HEAD;
  #reqHead = '';
  #reqBody: BodyFramer | null = null;
  /** Client bytes held while an upgrade is answered. */
  #held: Buffer | null = null;
  #pending: Exchange[] = [];
  #resHead = '';
  #resBody: BodyFramer | null = null;
  #resClose = false;
  #keepAliveMs = 0;
  /** Bytes of the current response already sent to the client: past this point there is no retry or 502. */
  #resStarted = false;
  #status = 0;
  #paused = 0;
  #clientEnded = false;
  #closing = false;
  #done = false;

  constructor(client: Socket, up: Upstream | null, ctx: ForwardContext) {
    this.#client = client;
    this.#ctx = ctx;
    const address = client.remoteAddress ?? 'unknown';
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; apps expect the plain IPv4 form.
    this.#clientAddress = address.startsWith('::ffff:') ? address.slice(7) : address;
    this.#kubeletSide = ctx.peer(client.remoteAddress) !== 'other';
    this.#up = up;
    if (up !== null) up.owner = this;
    ctx.connections.add(this);
    client.setTimeout(CLIENT_IDLE_MS);
    client.on('data', this.onClientData);
    client.on('end', this.#onClientEnd);
    client.on('drain', this.#onClientDrain);
    client.on('timeout', this.#onClientTimeout);
    client.on('close', this.#onClientClose);
  }

  /** No exchange under way: closing now loses nothing. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#req === REQ_HEAD && this.#reqHead === '';
  }

  /** Ends the connection if it is idle; otherwise it ends after the current exchange (draining). */
  closeIfIdle(): void {
    if (this.idle) this.#finishClient();
  }

  onClientData = (chunk: Buffer): void => {
    // A head and the body bytes behind it leave in one write.
    const corked = this.#up?.socket;
    corked?.cork();
    try {
      this.#readClient(chunk);
    } finally {
      corked?.uncork();
    }
  };

  #readClient(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.#done) {
      if (this.#req === REQ_BODY) {
        const body = this.#reqBody!;
        const end = body.consume(chunk, i);
        if (body.error !== undefined) return this.#refuse(400, 'Bad Request', lullError(errors.malformedRequest, body.error).message);
        if (end > i) this.#toUpstream(i === 0 && end === n ? chunk : chunk.subarray(i, end));
        i = end;
        if (body.done) this.#requestSent();
      } else if (this.#req === REQ_HEAD) {
        i = this.#readHead(chunk, i);
      } else {
        // After an upgrade request (until its answer) or a refused one: hold the bytes, read no more.
        const rest = chunk.subarray(i);
        this.#held = this.#held === null ? rest : Buffer.concat([this.#held, rest]);
        return;
      }
    }
  }

  #readHead(chunk: Buffer, start: number): number {
    let i = start;
    const n = chunk.length;
    if (this.#reqHead === '') {
      // RFC 9112 §2.2: ignore empty lines before a request line.
      while (i + 1 < n && chunk[i] === 0x0d && chunk[i + 1] === 0x0a) i += 2;
      if (i === n) return n;
      const end = chunk.indexOf(CRLF2, i, 'latin1');
      if (end >= 0 && end - i <= MAX_HEAD) {
        this.#onHead(chunk.toString('latin1', i, end));
        return end + 4;
      }
    }
    const seen = this.#reqHead.length;
    const text = this.#reqHead + chunk.toString('latin1', i, Math.min(n, i + MAX_HEAD + 4));
    const end = text.indexOf(CRLF2, Math.max(0, seen - 3));
    if (end < 0) {
      if (text.length > MAX_HEAD) this.#refuse(431, 'Request Header Fields Too Large', lullError(errors.headTooLarge, MAX_HEAD).message);
      else this.#reqHead = text;
      return n;
    }
    this.#reqHead = '';
    if (end > MAX_HEAD) {
      this.#refuse(431, 'Request Header Fields Too Large', lullError(errors.headTooLarge, MAX_HEAD).message);
      return n;
    }
    this.#onHead(text.slice(0, end));
    return i + (end + 4 - seen);
  }

  #onHead(text: string): void {
    const head = parseRequestHead(text);
    if ('error' in head) return this.#refuse(400, 'Bad Request', lullError(errors.malformedRequest, head.error).message);
    const ctx = this.#ctx;
    const counted = !(head.probe && this.#kubeletSide);
    if (counted) ctx.activity.requestStarted(Date.now());
    const out = forwardedHead(head, this.#clientAddress, ctx.isDraining());
    const exchange: Exchange = {
      method: head.method,
      startedAt: performance.now(),
      counted,
      upgrade: head.upgrade,
      close: head.close,
      retryHead: head.framing.kind === 'none' && !head.upgrade && IDEMPOTENT.has(head.method) ? out : null,
      retried: false,
    };
    this.#pending.push(exchange);
    if (this.#up === null) this.#up = ctx.pool.acquire(this, Date.now());
    this.#toUpstream(out);
    const body = new BodyFramer(head.framing);
    if (body.done) this.#requestSent();
    else {
      this.#reqBody = body;
      this.#req = REQ_BODY;
    }
  }

  /** The current request is wholly sent: wait for an upgrade's answer, stop after a close, or read on. */
  #requestSent(): void {
    this.#reqBody = null;
    const last = this.#pending[this.#pending.length - 1];
    if (last === undefined) {
      this.#req = REQ_HEAD;
    } else if (last.upgrade) {
      this.#req = REQ_AWAIT_UPGRADE;
      this.#pause(PAUSE_UPGRADE);
    } else if (last.close) {
      this.#req = REQ_DONE;
      this.#pause(PAUSE_DONE);
    } else {
      this.#req = REQ_HEAD;
    }
  }

  #toUpstream(data: Buffer | string): void {
    const up = this.#up!;
    const ok = typeof data === 'string' ? up.socket.write(data, 'latin1') : up.socket.write(data);
    if (!ok) this.#pause(PAUSE_UP_FULL);
  }

  #pause(bit: number): void {
    if (this.#paused === 0) this.#client.pause();
    this.#paused |= bit;
  }

  #unpause(bit: number): void {
    if (this.#paused === 0) return;
    this.#paused &= ~bit;
    if (this.#paused === 0 && !this.#done) this.#client.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    // Every byte from the app goes to the client unchanged and in order: one write per chunk, and the
    // parsing below only follows along.
    if (!this.#client.write(chunk)) this.#up?.socket.pause();
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.#done) {
      const body = this.#resBody;
      if (body !== null) {
        const end = body.consume(chunk, i);
        if (body.error !== undefined) {
          // The app's framing is broken: pass the rest through and close after it.
          this.#resBody = new BodyFramer({ kind: 'close' });
          this.#resClose = true;
          continue;
        }
        i = end;
        if (body.done) this.#responseDone();
      } else if (this.#pending.length === 0) {
        // Bytes nobody asked for (a 408 before closing, say): passed on; the connection is not reused.
        this.#resClose = true;
        return;
      } else {
        i = this.#readResponseHead(chunk, i);
      }
    }
  }

  #readResponseHead(chunk: Buffer, start: number): number {
    this.#resStarted = true;
    const n = chunk.length;
    const seen = this.#resHead.length;
    let end: number;
    let text: string;
    let consumed: number;
    if (seen === 0 && (end = chunk.indexOf(CRLF2, start, 'latin1')) >= 0) {
      text = chunk.toString('latin1', start, end);
      consumed = end + 4;
    } else {
      const all = this.#resHead + chunk.toString('latin1', start, Math.min(n, start + MAX_HEAD + 4));
      end = all.indexOf(CRLF2, Math.max(0, seen - 3));
      if (end < 0) {
        if (all.length > MAX_HEAD) {
          this.#resHead = '';
          this.#resBody = new BodyFramer({ kind: 'close' });
          this.#resClose = true;
        } else this.#resHead = all;
        return n;
      }
      this.#resHead = '';
      text = all.slice(0, end);
      consumed = start + end + 4 - seen;
    }
    const exchange = this.#pending[0]!;
    const head = parseResponseHead(text, exchange.method);
    if ('error' in head) {
      this.#resBody = new BodyFramer({ kind: 'close' });
      this.#resClose = true;
      return consumed;
    }
    if (head.status === 101 || (exchange.method === 'CONNECT' && head.status >= 200 && head.status < 300)) {
      if (exchange.upgrade) {
        this.#switchToTunnel(exchange, head.status);
        return n;
      }
    }
    if (head.status < 200) return consumed; // 100 Continue, 103 Early Hints: the final answer follows.
    const declined = exchange.upgrade && this.#req === REQ_AWAIT_UPGRADE;
    this.#resClose = head.close;
    this.#keepAliveMs = head.keepAliveMs;
    this.#status = head.status;
    const body = new BodyFramer(head.framing);
    if (body.done) this.#responseDone();
    else this.#resBody = body;
    if (declined) {
      // Upgrade declined: the connection stays HTTP; read on, starting with anything held.
      this.#req = REQ_HEAD;
      const held = this.#held;
      this.#held = null;
      if (held !== null) this.onClientData(held);
      this.#unpause(PAUSE_UPGRADE);
    }
    return consumed;
  }

  #responseDone(): void {
    const exchange = this.#pending.shift()!;
    this.#resBody = null;
    this.#resStarted = false;
    this.#finish(exchange, this.#status);
    if (this.#resClose || exchange.close || this.#closing || this.#ctx.isDraining()) {
      if (this.#pending.length === 0) this.#finishClient();
      return;
    }
    if (this.idle) {
      this.#releaseUpstream();
      if (this.#clientEnded) this.#finishClient();
    }
  }

  #releaseUpstream(): void {
    const up = this.#up;
    this.#up = null;
    if (up !== null) this.#ctx.pool.release(up, this.#keepAliveMs, Date.now());
  }

  /** Closes the app connection mid-exchange; its close is no longer ours to handle. */
  #dropUpstream(): void {
    const up = this.#up;
    this.#up = null;
    if (up !== null) {
      up.owner = null;
      up.socket.destroy();
    }
  }

  #finish(exchange: Exchange, status: number): void {
    if (exchange.counted) this.#ctx.activity.requestEnded();
    if (status > 0) this.#ctx.metrics.observe(status, (performance.now() - exchange.startedAt) / 1000);
  }

  #switchToTunnel(exchange: Exchange, status: number): void {
    const ctx = this.#ctx;
    this.#pending.shift();
    ctx.metrics.observe(status, (performance.now() - exchange.startedAt) / 1000);
    this.#detach();
    const up = this.#up!;
    this.#up = null;
    const activity = ctx.activity;
    const tunnel = new Tunnel(
      this.#client,
      up,
      () => activity.bytesArrived(Date.now()),
      () => {
        if (exchange.counted) activity.requestEnded();
      },
    );
    if (this.#held !== null) tunnel.toUpstream(this.#held);
    this.#held = null;
  }

  /** Stops handling the client socket (it is closed, or a tunnel took it over). */
  #detach(): void {
    this.#done = true;
    const client = this.#client;
    client.removeListener('data', this.onClientData);
    client.removeListener('end', this.#onClientEnd);
    client.removeListener('drain', this.#onClientDrain);
    client.removeListener('timeout', this.#onClientTimeout);
    client.removeListener('close', this.#onClientClose);
    client.setTimeout(0);
    this.#ctx.connections.delete(this);
  }

  onUpstreamEnd(): void {
    this.#up?.socket.end();
  }

  onUpstreamDrain(): void {
    this.#unpause(PAUSE_UP_FULL);
  }

  onUpstreamClose(error: Error | undefined): void {
    const wasReused = this.#up?.reused ?? false;
    this.#up = null;
    if (this.#done) return;
    if (this.#resBody !== null && this.#pending.length > 0 && this.#resBody.untilClose) {
      this.#responseDone(); // A body delimited by the connection's end has ended.
      this.#finishClient();
      return;
    }
    const exchange = this.#pending[0];
    if (exchange === undefined) {
      if (this.#resClose) this.#finishClient();
      return; // An idle connection closed: the next request takes another.
    }
    if (!this.#resStarted && this.#resBody === null) {
      if (exchange.retryHead !== null && !exchange.retried && this.#pending.length === 1 && wasReused) {
        // The app closed a reused connection as we sent on it: send again on a fresh one.
        exchange.retried = true;
        this.#up = this.#ctx.pool.connect(this);
        this.#toUpstream(exchange.retryHead);
        return;
      }
      this.#finish(exchange, 502);
      this.#pending.shift();
      this.#abandonPending();
      const message = error === undefined || (error as NodeJS.ErrnoException).code !== 'ECONNREFUSED'
        ? lullError(errors.appClosedEarly, this.#ctx.appPort).message
        : lullError(errors.appNotReady, this.#ctx.appPort).message;
      this.#sendAndClose(plainResponse(502, 'Bad Gateway', message));
      return;
    }
    // Part of the answer is already out: the client has to see the connection end.
    this.#abandonPending();
    this.#client.destroy();
  }

  #refuse(status: number, reason: string, message: string): void {
    this.#req = REQ_DONE;
    this.#pause(PAUSE_DONE);
    this.#closing = true;
    if (this.#pending.length === 0) this.#sendAndClose(plainResponse(status, reason, message));
    else this.#refusal = plainResponse(status, reason, message);
  }

  #refusal: string | null = null;

  #sendAndClose(response: string): void {
    this.#dropUpstream();
    this.#detach();
    this.#client.end(response, 'latin1');
  }

  /** Ends the client connection after everything written so far. */
  #finishClient(): void {
    if (this.#done) return;
    if (this.#refusal !== null) return this.#sendAndClose(this.#refusal);
    if (this.#pending.length === 0 && !this.#resClose && this.#resBody === null && this.#req !== REQ_BODY) this.#releaseUpstream();
    else this.#dropUpstream();
    this.#abandonPending();
    this.#detach();
    this.#client.end();
  }

  #abandonPending(): void {
    for (const exchange of this.#pending.splice(0)) this.#finish(exchange, 0);
  }

  #onClientEnd = (): void => {
    this.#clientEnded = true;
    if (this.#pending.length === 0) this.#finishClient();
  };

  #onClientDrain = (): void => {
    this.#up?.socket.resume();
  };

  #onClientTimeout = (): void => {
    if (this.idle) this.#finishClient();
  };

  #onClientClose = (): void => {
    if (this.idle && !this.#resClose) this.#releaseUpstream();
    else this.#dropUpstream();
    this.#abandonPending();
    this.#detach();
  };
}
