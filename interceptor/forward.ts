// Joins a held client to a pod, byte for byte in both directions, half-closes included. The client
// is read only once the pod has accepted, so a failed connect leaves it untouched and retryable.
import { connect, type Socket } from 'node:net';

export interface Target {
  address: string;
  port: number;
}

export interface ForwardHooks {
  /** The pod accepted: the client is now joined to it. */
  connected(): void;
  /** The pod could not be reached; the client was not read and may be forwarded elsewhere. */
  failed(err: Error): void;
}

export const CONNECT_TIMEOUT_MS = 3000;

function noop(): void {}

export function forward(client: Socket, target: Target, hooks: ForwardHooks, connectTimeoutMs = CONNECT_TIMEOUT_MS): void {
  const upstream = connect({ host: target.address, port: target.port, noDelay: true, allowHalfOpen: true });
  const timer = setTimeout(() => upstream.destroy(new Error(`connect to ${target.address}:${target.port} timed out after ${connectTimeoutMs}ms`)), connectTimeoutMs);
  const onConnectError = (err: Error) => {
    clearTimeout(timer);
    upstream.destroy();
    hooks.failed(err);
  };
  upstream.once('error', onConnectError);
  upstream.once('connect', () => {
    clearTimeout(timer);
    upstream.removeListener('error', onConnectError);
    if (client.destroyed) {
      upstream.destroy();
      return hooks.connected();
    }
    join(client, upstream);
    hooks.connected();
  });
}

/** Pipes both ways; an orderly close on one side ends the other, a broken one destroys it. */
export function join(client: Socket, upstream: Socket): void {
  client.on('error', noop);
  upstream.on('error', noop);
  client.once('close', (hadError) => (hadError ? upstream.destroy() : upstream.end()));
  upstream.once('close', (hadError) => (hadError ? client.destroy() : client.end()));
  client.pipe(upstream);
  upstream.pipe(client);
}
