// Reading a held connection's head for the waiting page gives every byte back, in order, whatever
// arrives: a whole head, a head that stalls, another protocol, or a client that half-closes early.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { peekHead } from '../../../interceptor/peek.ts';
import type { RequestHead } from '../../../interceptor/request-head.ts';
import { HOST } from './helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A paused server-side socket and the client connected to it. */
async function pair(): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer({ pauseOnConnect: true, allowHalfOpen: true });
  listener.listen(0, HOST);
  await once(listener, 'listening');
  const client = connect({ host: HOST, port: (listener.address() as AddressInfo).port, allowHalfOpen: true });
  const [server] = (await once(listener, 'connection')) as [Socket];
  cleanups.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  return { server, client };
}

function peek(server: Socket, timeoutMs = 5000): Promise<RequestHead | undefined> {
  return new Promise((resolve) => peekHead(server, resolve, timeoutMs));
}

/** Everything the server side can still read, once the client has ended. */
async function rest(server: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  server.on('data', (c: Buffer) => chunks.push(c));
  server.resume();
  await once(server, 'end');
  return Buffer.concat(chunks).toString('latin1');
}

describe('peekHead', () => {
  it('reads a head arriving in pieces and puts back all of it, body included', async () => {
    const { server, client } = await pair();
    const decided = peek(server);
    client.write('GET /x HTTP/1.1\r\nAcc');
    await new Promise((r) => setTimeout(r, 20));
    client.write('ept: text/html\r\n\r\nBODY');
    const head = await decided;
    expect(head?.headers.get('accept')).toBe('text/html');
    expect(server.isPaused()).toBe(true);
    client.end('MORE');
    expect(await rest(server)).toBe('GET /x HTTP/1.1\r\nAccept: text/html\r\n\r\nBODYMORE');
  });

  it('gives up on another protocol at its first bytes, and puts them back', async () => {
    const { server, client } = await pair();
    const decided = peek(server);
    client.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
    expect(await decided).toBeUndefined();
    client.end();
    expect(Buffer.from(await rest(server), 'latin1')).toEqual(Buffer.from([0x16, 0x03, 0x01, 0x00]));
  });

  it('gives up on a head that stalls, and puts back what came', async () => {
    const { server, client } = await pair();
    const decided = peek(server, 50);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n');
    expect(await decided).toBeUndefined();
    client.end('\r\n');
    expect(await rest(server)).toBe('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  it('closes a client that half-closes in the middle of its head (its bytes cannot be put back after the end)', async () => {
    const { server, client } = await pair();
    const decided = peek(server);
    client.end('GET / HTTP/1.1\r\nHo');
    expect(await decided).toBeUndefined();
    await once(server, 'close');
  });

  it('stops when released: nothing more is read', async () => {
    const { server, client } = await pair();
    let called = false;
    const p = peekHead(server, () => (called = true));
    client.write('GET / HT');
    await new Promise((r) => setTimeout(r, 20));
    p.release();
    client.end('TP/1.1\r\n\r\n');
    expect(await rest(server)).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(called).toBe(false);
  });
});
