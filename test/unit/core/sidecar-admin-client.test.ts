// The one client of the sidecar's admin API, against a local HTTP server standing in for the sidecar's admin port.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityOf, askActivity } from '../../../core/sidecar-admin-client.ts';

const snapshot = { lastActivityAt: 5, inFlight: 0, requestsInFlight: 0, connectionsInFlight: 0, requestsTotal: 1, connectionsTotal: 0, ready: true, draining: false, startedAt: 1, now: 10 };
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((_req, res) => res.end(JSON.stringify(snapshot))).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterAll(() => server.close());

describe('the sidecar admin client', () => {
  it('reads an activity snapshot', async () => {
    expect(await askActivity({ address: '127.0.0.1', port }, 1000)).toEqual(snapshot);
  });

  it('says why an answer is no snapshot', () => {
    expect(activityOf(503, undefined)).toEqual({ error: 'the sidecar answered 503' });
    expect(activityOf(200, { hello: 1 })).toEqual({ error: 'the sidecar answered something that is not an activity snapshot' });
    expect(activityOf(200, snapshot)).toEqual(snapshot);
  });

  it('says when nothing answers', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const free = (closed.address() as { port: number }).port;
    closed.close();
    const answer = await askActivity({ address: '127.0.0.1', port: free }, 1000);
    expect(answer).toMatchObject({ error: expect.stringContaining('ECONNREFUSED') });
  });
});
