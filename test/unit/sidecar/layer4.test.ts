// Layer 4 through the sidecar: anything that is not HTTP/1.x passes byte for byte.
import { once } from 'node:events';
import { connect as h2connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST, sidecarFor, tcpServer, until } from './helpers.ts';

describe('layer 4', () => {
  it('echoes raw TCP byte for byte, half-close included, and counts it as a connection', async () => {
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const sidecar = await sidecarFor([echo.port]);
    try {
      const socket = connect({ host: HOST, port: sidecar.port, allowHalfOpen: true });
      const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.end(payload); // Half-close: the echo ends after sending everything back.
      await once(socket, 'end');
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
      expect(sidecar.activity.connectionsTotal).toBe(1);
      expect(sidecar.activity.requestsTotal).toBe(0);
      expect(sidecar.activity.lastActivityAt).toBeGreaterThan(0);
      socket.destroy();
    } finally {
      await sidecar.close();
      await echo.close();
    }
  });

  it('relays a server-speaks-first protocol at once, with no sniff delay', async () => {
    const greeter = await tcpServer((socket) => {
      socket.write('220 smtp.example ESMTP ready\r\n');
      socket.on('data', (d) => {
        if (d.toString().startsWith('QUIT')) socket.end('221 bye\r\n');
      });
    });
    const sidecar = await sidecarFor([greeter.port]);
    try {
      const started = performance.now();
      const socket = connect({ host: HOST, port: sidecar.port });
      const [greeting] = await once(socket, 'data');
      const waited = performance.now() - started;
      expect(String(greeting)).toBe('220 smtp.example ESMTP ready\r\n');
      expect(waited).toBeLessThan(100);
      expect(sidecar.activity.connectionsInFlight).toBe(1);
      socket.write('QUIT\r\n');
      const [bye] = await once(socket, 'data');
      expect(String(bye)).toBe('221 bye\r\n');
      await once(socket, 'close');
      await until(() => sidecar.activity.connectionsInFlight === 0);
    } finally {
      await sidecar.close();
      await greeter.close();
    }
  });

  it('does not count a connection that never sends a byte as activity', async () => {
    const silent = await tcpServer((socket) => socket.on('end', () => socket.end()));
    const sidecar = await sidecarFor([silent.port]);
    try {
      const socket = connect({ host: HOST, port: sidecar.port });
      await once(socket, 'connect');
      socket.end();
      await once(socket, 'close');
      expect(sidecar.activity.lastActivityAt).toBe(0);
    } finally {
      await sidecar.close();
      await silent.close();
    }
  });
});

describe('h2c (gRPC-style HTTP/2 without TLS)', () => {
  let server: Http2Server;
  let appPort: number;

  beforeAll(async () => {
    server = createH2Server();
    server.on('stream', (stream, headers) => {
      if (headers[':path'] === '/echo.Echo/Stream') {
        // A bidirectional stream with gRPC's shape: content-type, streamed messages, trailers.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.on('data', (d) => stream.write(d));
        stream.on('end', () => stream.end());
      } else {
        stream.respond({ ':status': 200 });
        stream.end(`h2 ${headers[':path']}`);
      }
    });
    server.listen(0, HOST);
    await once(server, 'listening');
    appPort = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('passes the HTTP/2 preface, requests, streams and trailers through', async () => {
    const sidecar = await sidecarFor([appPort]);
    const client = h2connect(`http://${HOST}:${sidecar.port}`);
    try {
      const simple = client.request({ ':path': '/hello' });
      let text = '';
      for await (const c of simple) text += c;
      expect(text).toBe('h2 /hello');

      const stream = client.request({ ':path': '/echo.Echo/Stream', ':method': 'POST', 'content-type': 'application/grpc' });
      const trailers = new Promise((resolve) => stream.once('trailers', resolve));
      const received: string[] = [];
      stream.on('data', (d) => received.push(String(d)));
      for (const msg of ['m1', 'm2', 'm3']) {
        stream.write(msg);
        await once(stream, 'data');
      }
      stream.end();
      await once(stream, 'end');
      expect(received.join('')).toBe('m1m2m3');
      expect(await trailers).toMatchObject({ 'grpc-status': '0' });
      expect(sidecar.activity.connectionsTotal).toBe(1);
      expect(sidecar.activity.connectionsInFlight).toBe(1);
    } finally {
      client.close();
      await sidecar.close();
    }
  });
});
