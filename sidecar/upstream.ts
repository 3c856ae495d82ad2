// Connections to the app on one port. Each client connection gets a fresh one at accept (so a
// server-speaks-first protocol is never delayed); HTTP connections hand theirs back between exchanges,
// so idle keep-alive clients hold no connection to the app.
import { connect, type Socket } from 'node:net';

/** Whoever uses an upstream connection now: a client connection, a tunnel, or the sniffer. */
export interface UpstreamOwner {
  onUpstreamData(chunk: Buffer): void;
  onUpstreamEnd(): void;
  onUpstreamDrain(): void;
  onUpstreamClose(error: Error | undefined): void;
}

export class Upstream {
  readonly socket: Socket;
  owner: UpstreamOwner | null = null;
  /** Served an exchange before: a failure before any answer may be the app closing it while idle. */
  reused = false;
  closed = false;
  error: Error | undefined = undefined;
  /** Epoch ms after which an idle connection is not reused. */
  idleUntil = 0;

  constructor(socket: Socket, onIdleClose: (up: Upstream) => void) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.owner !== null) this.owner.onUpstreamData(chunk);
      else socket.destroy(); // Bytes on an idle connection (a 408, say): it is no longer in step.
    });
    socket.on('end', () => {
      if (this.owner !== null) this.owner.onUpstreamEnd();
      else socket.end();
    });
    socket.on('drain', () => this.owner?.onUpstreamDrain());
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      if (this.owner !== null) this.owner.onUpstreamClose(this.error);
      else onIdleClose(this);
    });
  }
}

export interface PoolOptions {
  /** Idle connections kept for reuse. */
  maxIdle: number;
  /** How long an idle connection is reused when the app sends no `Keep-Alive: timeout` hint. */
  idleMs: number;
}

export const POOL_DEFAULTS: PoolOptions = { maxIdle: 256, idleMs: 2000 };

export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  #idle: Upstream[] = [];
  #options: PoolOptions;
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(host: string, port: number, options: PoolOptions = POOL_DEFAULTS) {
    this.host = host;
    this.port = port;
    this.#options = options;
  }

  /** A new connection (writes are queued by the socket until it connects). */
  connect(owner: UpstreamOwner | null = null): Upstream {
    const up = new Upstream(connect({ host: this.host, port: this.port, allowHalfOpen: true }), this.#dropIdle);
    up.owner = owner;
    return up;
  }

  /** The most recently used idle connection still within its idle time, or a new one. */
  acquire(owner: UpstreamOwner, now: number): Upstream {
    let up: Upstream | undefined;
    while ((up = this.#idle.pop()) !== undefined) {
      if (!up.closed && now < up.idleUntil) {
        up.owner = owner;
        return up;
      }
      up.socket.destroy();
    }
    return this.connect(owner);
  }

  /**
   * Takes back a connection after a complete exchange. The app's keep-alive hint minus a second
   * (as Node's agent does) keeps us from reusing a connection the app is about to close.
   */
  release(up: Upstream, keepAliveMs: number, now: number): void {
    up.owner = null;
    up.reused = true;
    if (up.closed) return;
    if (this.#closed || this.#idle.length >= this.#options.maxIdle) {
      up.socket.end();
      return;
    }
    const ms = keepAliveMs > 0 ? Math.max(keepAliveMs - 1000, keepAliveMs / 2) : this.#options.idleMs;
    up.idleUntil = now + ms;
    up.socket.resume();
    this.#idle.push(up);
    this.#sweep ??= setInterval(this.#expire, 1000).unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const up of this.#idle.splice(0)) up.socket.end();
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  #dropIdle = (up: Upstream): void => {
    const i = this.#idle.indexOf(up);
    if (i >= 0) this.#idle.splice(i, 1);
  };

  #expire = (): void => {
    const now = Date.now();
    // Oldest first: the list is in release order, so expired ones sit at the front.
    let n = 0;
    while (n < this.#idle.length && this.#idle[n]!.idleUntil <= now) n++;
    for (const up of this.#idle.splice(0, n)) up.socket.end();
    if (this.#idle.length === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  };
}
