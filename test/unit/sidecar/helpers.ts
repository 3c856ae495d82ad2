// Starts sidecars in-process in front of fixture servers on 127.0.0.1 ephemeral ports.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { SidecarConfig } from '../../../sidecar/config.ts';
import { startSidecar, type RunningSidecar, type StartOptions } from '../../../sidecar/sidecar.ts';

export const HOST = '127.0.0.1';

export interface TestSidecar extends RunningSidecar {
  /** The first fronted port. */
  port: number;
  admin(path: string, init?: RequestInit): Promise<Response>;
}

export async function sidecarFor(appPorts: number[], config: Partial<SidecarConfig> = {}, options: StartOptions = {}): Promise<TestSidecar> {
  const sidecar = await startSidecar(
    {
      ports: appPorts.map((app) => ({ listen: 0, app })),
      adminPort: 0,
      appHost: HOST,
      readiness: { kind: 'tcp', host: HOST, port: appPorts[0]!, timeoutMs: 1000 },
      drainQuietMs: 2000,
      drainMaxMs: 30_000,
      ...config,
    },
    { listenHost: HOST, ...options },
  );
  return Object.assign(sidecar, {
    port: sidecar.ports[0]!.listen,
    admin: (path: string, init?: RequestInit) => fetch(`http://${HOST}:${sidecar.adminPort}${path}`, init),
  });
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', (err) => process.env.LULL_TEST_DEBUG && console.log('fixture socket error', err));
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Writes raw bytes on a new connection and collects everything until the peer ends it. */
export async function rawExchange(port: number, bytes: string | Buffer, endAfterWrite = false): Promise<string> {
  const socket = connect({ host: HOST, port, allowHalfOpen: true });
  socket.write(bytes);
  if (endAfterWrite) socket.end();
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

/** Resolves when `predicate` holds, checked on each turn of `events` or every few ms up to `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
