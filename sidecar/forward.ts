// Layer 7: one client connection speaking HTTP/1.x, forwarded to the app request by request. Bytes
// pass unchanged except the request head (X-Forwarded-*); heads are parsed only to frame bodies, count
// requests, follow upgrades and know when the app connection can be handed back to the pool. This
// file wires the request reader and the response follower around one app connection; heads are
// found by head-reader.ts, framed by head.ts and body.ts, the ledger is exchanges.ts, and the tunnel
// switch is tunnel.ts. Invariants: app bytes reach the client only once framed; an app connection is
// pooled only between whole, well-framed exchanges; every exchange that starts ends once.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errors, lullError, type LullError } from '../core/errors.ts';
import type { SidecarLimits } from '../core/sidecar-contract.ts';
import type { Activity } from './activity.ts';
import { BodyFramer } from './body.ts';
import { forwardedHead, forwardsAsIs, parseRequestHead } from './head.ts';
import { ForwardedSuffix } from './forwarded-suffix.ts';
import { HEAD_BROKEN_LINE, HEAD_INCOMPLETE, HEAD_TOO_LARGE, HeadReader, MAX_HEAD } from './head-reader.ts';
import { ResponseFollower, type ResponseSink } from './response-follower.ts';
import type { SidecarMetrics } from './metrics.ts';
import type { Peer } from './peers.ts';
import { refusalResponse } from './refusal.ts';
import { tunnelFromHttp } from './tunnel.ts';
import type { Upstream, UpstreamOwner, UpstreamPool } from './upstream.ts';
import { Exchanges, type Exchange } from './exchanges.ts';

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
  limits: SidecarLimits;
}

const now = (): number => performance.now();
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

export class HttpConnection implements UpstreamOwner {
  #client: Socket;
  #ctx: ForwardContext;
  #clientAddress: string;
  /** The kubelet can be here: the node or the pod itself, not another pod sending a kube-probe User-Agent. */
  #kubeletSide: boolean;
  #up: Upstream | null;
  #req = REQ_HEAD;
  #reqHead = new HeadReader();
  #suffixes: ForwardedSuffix;
  /** The body being sent (#reqFramer, reused), or null between requests. */
  #reqBody: BodyFramer | null = null;
  /** Made at the first request with a body; idle connections hold none. */
  #reqFramer: BodyFramer | null = null;
  /** The app connection carries part of a request that will never complete: it is never reused. */
  #tainted = false;
  /** The app socket corked while a client chunk is read (uncorked when it is done). */
  #corked: Socket | null = null;
  /** Client bytes held while an upgrade is answered. */
  #held: Buffer | null = null;
  #pending: Exchanges;
  #res: ResponseFollower;
  #paused = 0;
  #clientEnded = false;
  #closing = false;
  #done = false;
  /** Bytes moved since the last timeout sweep. */
  #active = true;
  /** performance.now() of the sweep that first found the connection quiet. */
  #quietSince = 0;

  /** `headSince`: performance.now() when the first request line started arriving (0: with the first bytes). */
  constructor(client: Socket, up: Upstream | null, ctx: ForwardContext, headSince = 0) {
    this.#client = client;
    this.#ctx = ctx;
    const address = client.remoteAddress ?? 'unknown';
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; apps expect the plain IPv4 form.
    this.#clientAddress = address.startsWith('::ffff:') ? address.slice(7) : address;
    this.#suffixes = new ForwardedSuffix(this.#clientAddress);
    this.#kubeletSide = ctx.peer(client.remoteAddress) !== 'other';
    this.#up = up;
    this.#pending = new Exchanges(ctx.activity, ctx.metrics);
    this.#res = new ResponseFollower(this.#sink());
    this.#reqHead.since = headSince; // the head timeout counts from the first byte, sniffing included
    if (up !== null) up.owner = this;
    ctx.connections.add(this);
    client.on('data', this.onClientData);
    client.on('end', this.#onClientEnd);
    client.on('drain', this.#onClientDrain);
    client.on('close', this.#onClientClose);
  }

  /** No exchange under way: closing now loses nothing. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#req === REQ_HEAD && this.#reqHead.held === '';
  }

  /** Ends the connection if it is idle; otherwise it ends after the current exchange (draining). */
  closeIfIdle(): void {
    if (this.idle) this.#finishClient();
  }

  onClientData = (chunk: Buffer): void => {
    this.#active = true;
    try {
      this.#readClient(chunk);
    } finally {
      const corked = this.#corked;
      this.#corked = null;
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
        if (body.error !== undefined) return this.#refuseBody(body.error);
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
    const reader = this.#reqHead;
    if (reader.held === '') {
      // RFC 9112 §2.2: ignore empty lines before a request line.
      while (i + 1 < n && chunk[i] === 0x0d && chunk[i + 1] === 0x0a) i += 2;
      if (i === n) return n;
    }
    const end = reader.read(chunk, i, now);
    if (end === HEAD_INCOMPLETE) return n;
    if (end === HEAD_TOO_LARGE) {
      this.#refuse(lullError(errors.headTooLarge, MAX_HEAD));
      return n;
    }
    if (end === HEAD_BROKEN_LINE) {
      this.#refuse(lullError(errors.malformedRequest, 'a line ends with a bare LF, or a CR is not followed by LF'));
      return n;
    }
    // A head wholly in this chunk (not joined from held pieces) can be sent from its own bytes.
    this.#onHead(reader.head, end - i === reader.head.length + 4 ? chunk : null, i, end < n);
    return end;
  }

  /** `bytes`: the chunk holding the whole head at `start` (null when it arrived in pieces). */
  #onHead(text: string, bytes: Buffer | null, start: number, more: boolean): void {
    const head = parseRequestHead(text);
    if ('error' in head) return this.#refuse(lullError(errors.malformedRequest, head.error));
    const ctx = this.#ctx;
    const draining = ctx.isDraining();
    const out = bytes !== null && forwardsAsIs(head, draining)
      ? this.#suffixes.headWith(bytes, start, start + text.length + 2, head)
      : forwardedHead(head, this.#clientAddress, draining);
    const retryHead = head.framing.kind === 'none' && !head.upgrade && IDEMPOTENT.has(head.method) ? out : null;
    // A kube-probe request counts as activity unless it comes from the kubelet's side (node or pod).
    this.#pending.start(head.method, !(head.probe && this.#kubeletSide), head.upgrade, head.close, retryHead);
    if (this.#up === null) this.#up = ctx.pool.acquire(this, Date.now());
    if (more && this.#corked === null) {
      // A head and the bytes behind it in the chunk (body, pipelined requests) leave in one write;
      // a lone head is written as it is (corking a single write only adds work).
      this.#corked = this.#up.socket;
      this.#corked.cork();
    }
    this.#toUpstream(out);
    if (head.framing.kind === 'none') return this.#requestSent();
    const body = this.#reqFramer === null ? (this.#reqFramer = new BodyFramer(head.framing)) : this.#reqFramer.reset(head.framing);
    if (body.done) this.#requestSent();
    else {
      this.#reqBody = body;
      this.#req = REQ_BODY;
    }
  }

  /** The current request is wholly sent: wait for an upgrade's answer, stop after a close, or read on. */
  #requestSent(): void {
    this.#reqBody = null;
    const last = this.#pending.last;
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
    this.#active = true;
    this.#res.follow(chunk);
  }

  #writeClient(data: Buffer | string): void {
    const ok = typeof data === 'string' ? this.#client.write(data, 'latin1') : this.#client.write(data);
    if (!ok) this.#up?.socket.pause();
  }

  /** The connection's side of the response follower. */
  #sink(): ResponseSink {
    return {
      answering: () => this.#pending.first,
      awaitingUpgrade: () => this.#req === REQ_AWAIT_UPGRADE,
      open: () => !this.#done,
      write: (data) => this.#writeClient(data),
      ended: () => this.#responseDone(),
      broken: (reason, started) => this.#brokenResponse(reason, started),
      unsolicited: () => {
        // Not relayed, and the app connection, out of step with us, is not reused.
        this.#dropUpstream();
        if (this.#res.close && !this.#done) this.#finishClient();
      },
      switched: (exchange) => this.#switchToTunnel(exchange),
      declined: () => {
        // Upgrade declined: the connection stays HTTP; read on, starting with anything held.
        this.#req = REQ_HEAD;
        const held = this.#held;
        this.#held = null;
        if (held !== null) {
          queueMicrotask(() => {
            if (!this.#done) this.onClientData(held);
          });
        }
        this.#unpause(PAUSE_UPGRADE);
      },
    };
  }

  /**
   * The app's response cannot be followed. Before any of it reached the client: a 502, and the app
   * connection is closed; after: both connections are closed, the client sees the answer cut short.
   */
  #brokenResponse(reason: string, started: boolean): void {
    this.#dropUpstream();
    if (this.#pending.length === 0 || started) return this.#abort();
    this.#pending.endFirst(502);
    this.#pending.abandonAll();
    const err = lullError(errors.appMalformedResponse, this.#ctx.appPort, reason);
    this.#ctx.metrics.refused(err.code);
    this.#sendAndClose(refusalResponse(err));
  }

  #responseDone(): void {
    const exchange = this.#pending.endFirst(this.#res.status)!;
    if (this.#res.close || exchange.close || this.#closing || this.#ctx.isDraining()) {
      if (this.#pending.length === 0) this.#finishClient();
      return;
    }
    if (this.idle) {
      this.#releaseUpstream();
      if (this.#clientEnded) this.#finishClient();
    }
  }

  /** Hands the app connection back to the pool: only between whole, well-framed exchanges. */
  #releaseUpstream(): void {
    if (this.#tainted || this.#pending.length > 0 || this.#res.busy || this.#req !== REQ_HEAD || this.#reqHead.held !== '' || this.#refusal !== null) {
      // Invariant (never expected): a connection mid-exchange would carry one client's bytes to the next.
      return this.#dropUpstream();
    }
    const up = this.#up;
    this.#up = null;
    if (up !== null) this.#ctx.pool.release(up, this.#res.keepAliveMs, Date.now());
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

  /** 101 or CONNECT 2xx relayed: the connection becomes a tunnel; the exchange stays in flight until it closes. */
  #switchToTunnel(exchange: Exchange): void {
    const pending = this.#pending;
    pending.handOver();
    this.#ctx.metrics.observe(this.#res.status, (performance.now() - exchange.startedAt) / 1000);
    this.#detach();
    const up = this.#up!;
    this.#up = null;
    const held = this.#held;
    this.#held = null;
    tunnelFromHttp(this.#client, up, held, this.#ctx.activity, () => pending.end(exchange, 0));
  }

  /** Stops handling the client socket (it is closed, or a tunnel took it over). */
  #detach(): void {
    this.#done = true;
    const client = this.#client;
    client.removeListener('data', this.onClientData);
    client.removeListener('end', this.#onClientEnd);
    client.removeListener('drain', this.#onClientDrain);
    client.removeListener('close', this.#onClientClose);
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
    if (this.#pending.length > 0 && this.#res.closedByApp()) {
      this.#finishClient(); // A body delimited by the connection's end has ended.
      return;
    }
    const exchange = this.#pending.first;
    if (exchange === undefined) {
      if (this.#res.close) this.#finishClient();
      return; // An idle connection closed: the next request takes another.
    }
    if (!this.#res.started && !this.#res.inBody) {
      const answered = this.#res.headHeld;
      this.#res.reset();
      if (exchange.retryHead !== null && !exchange.retried && this.#pending.length === 1 && wasReused && !answered) {
        // The app closed a reused connection as we sent on it: send again on a fresh one.
        exchange.retried = true;
        this.#up = this.#ctx.pool.connect(this);
        this.#toUpstream(exchange.retryHead);
        return;
      }
      this.#pending.endFirst(502);
      this.#pending.abandonAll();
      const err = error === undefined || (error as NodeJS.ErrnoException).code !== 'ECONNREFUSED'
        ? lullError(errors.appClosedEarly, this.#ctx.appPort)
        : lullError(errors.appNotReady, this.#ctx.appPort);
      this.#sendAndClose(refusalResponse(err));
      return;
    }
    // Part of the answer is already out: the client has to see the connection end.
    this.#abort();
  }

  /** Closes both sides now, whatever is under way. */
  #abort(): void {
    this.#dropUpstream();
    this.#pending.abandonAll();
    if (!this.#done) this.#detach();
    this.#client.destroy();
  }

  /**
   * Refuses what the client sent and closes the connection once the answers to the requests before
   * it are out. The app never sees a byte of the refused request, so it never waits for one.
   */
  #refuse(err: LullError): void {
    this.#req = REQ_DONE;
    this.#reqHead.clear();
    this.#pause(PAUSE_DONE);
    this.#closing = true;
    this.#ctx.metrics.refused(err.code);
    if (this.#pending.length === 0) this.#sendAndClose(refusalResponse(err));
    else this.#refusal = refusalResponse(err);
  }

  /**
   * A request body's framing broke after its head (and part of it) went to the app: that request is
   * withdrawn, and the app connection is closed rather than left waiting for the rest.
   */
  #refuseBody(reason: string): void {
    const err = lullError(errors.malformedRequest, reason);
    if (this.#pending.length === 1 && this.#res.busy) {
      // The app is already answering it: the answer can be neither finished nor replaced.
      this.#ctx.metrics.refused(err.code);
      return this.#abort();
    }
    this.#withdrawRequest();
    // Earlier requests went whole to the app: their answers are relayed, then the refusal and close.
    this.#refuse(err);
  }

  /**
   * Called about once a second (listener.ts): a request head that is taking too long is answered 408,
   * and a connection idle and quiet for the idle timeout is closed. A flag set per chunk and read here
   * stands in for socket.setTimeout, whose timer is re-armed on every read and write.
   */
  checkTimeouts(now: number): void {
    if (this.#done) return;
    const limits = this.#ctx.limits;
    const since = this.#reqHead.since;
    if (since !== 0 && now - since >= limits.headTimeoutMs) return this.#refuse(lullError(errors.headTimeout, limits.headTimeoutMs));
    if (this.#active) {
      this.#active = false;
      this.#quietSince = now;
    } else if (now - this.#quietSince >= limits.idleTimeoutMs && this.idle) {
      this.#finishClient();
    }
  }

  #refusal: string | null = null;

  #sendAndClose(response: string): void {
    this.#dropUpstream();
    this.#pending.abandonAll(); // requests the app will not answer now (pipelined behind a closing one)
    this.#detach();
    this.#client.end(response, 'latin1');
  }

  /** Ends the client connection after everything written so far. */
  #finishClient(): void {
    if (this.#done) return;
    if (this.#refusal !== null) return this.#sendAndClose(this.#refusal);
    if (this.#pending.length === 0 && !this.#res.close && !this.#res.busy && this.#req !== REQ_BODY && this.#reqHead.held === '') this.#releaseUpstream();
    else this.#dropUpstream();
    this.#pending.abandonAll();
    this.#detach();
    this.#client.end();
  }

  #onClientEnd = (): void => {
    this.#clientEnded = true;
    if (this.#reqHead.held !== '') {
      // Half a head never reached the app: drop it, answer what came before, then close.
      this.#reqHead.clear();
      this.#req = REQ_DONE;
      this.#closing = true;
    } else if (this.#req === REQ_BODY) {
      // A body cut short can never complete: withdrawn, so the app does not wait for the rest.
      this.#withdrawRequest();
      this.#req = REQ_DONE;
      this.#closing = true;
    }
    if (this.#pending.length === 0) this.#finishClient();
  };

  /** The request being sent will not complete: it is dropped, and its app connection never reused. */
  #withdrawRequest(): void {
    this.#reqBody = null;
    this.#tainted = true;
    const last = this.#pending.last;
    if (last === undefined) return;
    if (this.#pending.length === 1 && this.#res.busy) return; // being answered: the answer ends it
    this.#pending.endLast(0);
  }

  #onClientDrain = (): void => {
    this.#up?.socket.resume();
  };

  #onClientClose = (): void => {
    if (this.idle && !this.#res.close) this.#releaseUpstream();
    else this.#dropUpstream();
    this.#pending.abandonAll();
    this.#detach();
  };
}
