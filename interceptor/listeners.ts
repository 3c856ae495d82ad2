// One TCP listener per allocated interceptor port, opened and closed to match the route table.
// Sockets are accepted paused: nothing is read from a client until it is forwarded or refused.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

export type ConnectionHandler = (socket: Socket, port: number) => void;

export interface SyncResult {
  opened: number[];
  closed: number[];
  /** Ports that could not be bound, with why; the next sync tries them again. */
  failed: Array<{ port: number; error: string }>;
}

export class Listeners {
  readonly #servers = new Map<number, Server>();
  readonly #onConnection: ConnectionHandler;
  readonly #host: string | undefined;
  #syncing: Promise<unknown> = Promise.resolve();

  constructor(onConnection: ConnectionHandler, host?: string) {
    this.#onConnection = onConnection;
    this.#host = host;
  }

  get ports(): number[] {
    return [...this.#servers.keys()];
  }

  /** Opens what `ports` has and this lacks, closes the rest; connections already accepted are not touched. */
  sync(ports: Iterable<number>): Promise<SyncResult> {
    const wanted = new Set(ports);
    // One sync at a time, so a port is never bound twice by overlapping syncs.
    const next = this.#syncing.then(() => this.#sync(wanted));
    this.#syncing = next.catch(() => undefined);
    return next;
  }

  async #sync(wanted: Set<number>): Promise<SyncResult> {
    const result: SyncResult = { opened: [], closed: [], failed: [] };
    for (const [port, server] of this.#servers) {
      if (wanted.has(port)) continue;
      this.#servers.delete(port);
      server.close();
      result.closed.push(port);
    }
    const opening = [...wanted].filter((port) => !this.#servers.has(port)).map(async (port) => {
      try {
        this.#servers.set(port, await this.#listen(port));
        result.opened.push(port);
      } catch (err) {
        result.failed.push({ port, error: (err as Error).message });
      }
    });
    await Promise.all(opening);
    return result;
  }

  /** Stops accepting on every port. */
  close(): Promise<void> {
    const closing = [...this.#servers.values()].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.#servers.clear();
    return Promise.all(closing).then(() => undefined);
  }

  async #listen(port: number): Promise<Server> {
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (socket) => this.#onConnection(socket, port));
    server.listen({ port, host: this.#host, backlog: 4096 });
    await once(server, 'listening'); // Rejects with the bind error (EADDRINUSE...).
    server.on('error', () => {}); // After listening, errors are per connection and handled there.
    return server;
  }
}
