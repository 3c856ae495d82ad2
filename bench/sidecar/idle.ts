// Resident memory a proxy holds for idle keep-alive connections: open N, make one request on each,
// leave them idle, and read the RSS growth.
import { connect, type Socket } from 'node:net';
import { rssMiB } from './processes.ts';
import { HOST } from './servers.ts';

async function idleConnections(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 500;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(
      Array.from(
        { length: Math.min(batch, n - i) },
        () =>
          new Promise<Socket>((ok, fail) => {
            const s = connect({ host: HOST, port }, () => s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
            s.once('data', () => ok(s));
            s.once('error', fail);
          }),
      ),
    );
    sockets.push(...opened);
  }
  return sockets;
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000)); // Let RSS settle after a burst; nothing to await on.
}

const sum = (pids: number[]) => pids.reduce((a, pid) => a + rssMiB(pid), 0);

/** MiB the processes grow by while `n` idle keep-alive connections are open through `port`. */
export async function idleMemoryMiB(port: number, pids: number[], n: number): Promise<number> {
  await settle();
  const before = sum(pids);
  const sockets = await idleConnections(port, n);
  await settle();
  const after = sum(pids);
  for (const s of sockets) s.destroy();
  await settle();
  return after - before;
}
