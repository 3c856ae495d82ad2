// The client connections open now: byte totals for metrics without per-chunk counting, and a handle
// on every socket for shutdown.
import type { Socket } from 'node:net';

export class ClientSockets {
  readonly open = new Set<Socket>();
  #closedRead = 0;
  #closedWritten = 0;

  add(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.#closedRead += socket.bytesRead;
      this.#closedWritten += socket.bytesWritten;
      this.open.delete(socket);
    });
  }

  /** Bytes received from clients, closed connections included. */
  bytesReceived(): number {
    let n = this.#closedRead;
    for (const s of this.open) n += s.bytesRead;
    return n;
  }

  /** Bytes sent to clients, closed connections included. */
  bytesSent(): number {
    let n = this.#closedWritten;
    for (const s of this.open) n += s.bytesWritten;
    return n;
  }

  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}
