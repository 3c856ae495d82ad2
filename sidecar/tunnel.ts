// Layer 4: bytes both ways, unchanged, half-closes included. Client bytes are activity.
import type { Socket } from 'node:net';
import type { Activity } from './activity.ts';
import type { Upstream, UpstreamOwner } from './upstream.ts';

export class Tunnel implements UpstreamOwner {
  #client: Socket;
  #up: Upstream;
  #onBytes: () => void;
  #onClose: () => void;
  #closed = 0;

  /** Starts relaying; `onBytes` runs per client chunk, `onClose` once both sides are closed. */
  constructor(client: Socket, up: Upstream, onBytes: () => void, onClose: () => void) {
    this.#client = client;
    this.#up = up;
    this.#onBytes = onBytes;
    this.#onClose = onClose;
    up.owner = this;
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('drain', this.#onClientDrain);
    client.on('close', this.#onClientClose);
    if (up.closed) this.onUpstreamClose(up.error);
    client.resume();
  }

  /** Sends bytes that arrived before the tunnel existed. */
  toUpstream(chunk: Buffer): void {
    if (chunk.length > 0 && !this.#up.socket.write(chunk)) this.#client.pause();
  }

  toClient(chunk: Buffer): void {
    if (chunk.length > 0 && !this.#client.write(chunk)) this.#up.socket.pause();
  }

  onUpstreamData(chunk: Buffer): void {
    if (!this.#client.write(chunk)) this.#up.socket.pause();
  }

  onUpstreamEnd(): void {
    this.#client.end();
  }

  onUpstreamDrain(): void {
    this.#client.resume();
  }

  onUpstreamClose(error: Error | undefined): void {
    if (error !== undefined) this.#client.destroy();
    else this.#client.end();
    this.#sideClosed();
  }

  #onClientData = (chunk: Buffer): void => {
    this.#onBytes();
    if (!this.#up.socket.write(chunk)) this.#client.pause();
  };

  #onClientEnd = (): void => {
    this.#up.socket.end();
  };

  #onClientDrain = (): void => {
    this.#up.socket.resume();
  };

  #onClientClose = (hadError: boolean): void => {
    if (hadError) this.#up.socket.destroy();
    else this.#up.socket.end();
    this.#sideClosed();
  };

  #sideClosed(): void {
    if (++this.#closed === 2) this.#onClose();
  }
}

/**
 * The tunnel switch: an HTTP connection whose upgrade (or CONNECT) the app accepted continues as a
 * tunnel, starting with the client bytes held since the request; `onClose` ends the exchange.
 */
export function tunnelFromHttp(client: Socket, up: Upstream, held: Buffer | null, activity: Activity, onClose: () => void): Tunnel {
  const tunnel = new Tunnel(client, up, () => activity.bytesArrived(Date.now()), onClose);
  if (held !== null) tunnel.toUpstream(held);
  return tunnel;
}
