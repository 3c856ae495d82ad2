// The informer against a fake apiserver over real HTTP: list, watch, bookmarks, server-closed watches,
// 410 Gone, and an apiserver that goes away and comes back.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeClient } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import { informer, type Change } from '../../../reconciler/informers.ts';

interface Thing {
  metadata: { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string> };
  group?: string;
  trimmed?: boolean;
}
const thing = (name: string, rv: number, group = 'x'): Thing => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv), labels: { group } }, group });

function fakeApiserver() {
  const state = { items: [] as Thing[], rv: 1, lists: 0, watches: [] as Array<{ query: URLSearchParams; res: ServerResponse }> };
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      state.watches.push({ query: url.searchParams, res });
      return;
    }
    state.lists++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { resourceVersion: String(state.rv) }, items: state.items }));
  };
  const listen = async () => {
    server = createServer(handler);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  };
  return {
    state,
    listen,
    get port() {
      return port;
    },
    lastWatch: () => state.watches.at(-1)!,
    send(type: string, object: unknown) {
      this.lastWatch().res.write(`${JSON.stringify({ type, object })}\n`);
    },
    /** The apiserver goes away: every connection is cut, nothing listens. */
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function kubeconfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });
  return kc;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('informer', () => {
  it('lists, watches with bookmarks, trims, indexes, resumes where it was and relists after 410 Gone', async () => {
    const api = fakeApiserver();
    api.state.items = [thing('a', 1), thing('b', 1, 'y')];
    api.state.rv = 10;
    await api.listen();
    const changes: string[] = [];
    const cache = informer<Thing>({
      client: kubeClient(kubeconfig(api.port)),
      path: '/apis/x/v1/things',
      labelSelector: 'tier=web',
      trim: (o: Thing) => ({ metadata: o.metadata, ...(o.group ? { group: o.group } : {}), trimmed: true }),
      indexBy: (o) => o.group,
      onChange: (c: Change, o) => changes.push(`${c} ${o.metadata.name}`),
      logger: createLogger('test', 'silent'),
    });
    cleanup.push(() => cache.stop(), () => api.stop());
    cache.start();
    await expect.poll(() => api.state.watches.length).toBe(1);
    expect(cache.synced()).toBe(true);
    expect(cache.get('a', 'ns')).toMatchObject({ trimmed: true });
    expect([...cache.indexed('y')].map((o) => o.metadata.name)).toEqual(['b']);
    const q = api.lastWatch().query;
    expect([q.get('resourceVersion'), q.get('allowWatchBookmarks'), q.get('labelSelector')]).toEqual(['10', 'true', 'tier=web']);

    api.send('ADDED', thing('c', 11, 'y'));
    api.send('MODIFIED', thing('b', 12, 'x')); // moves from index y to x
    api.send('DELETED', thing('a', 13));
    api.send('BOOKMARK', { metadata: { resourceVersion: '20' } });
    await expect.poll(() => changes.length).toBe(5);
    expect(changes).toEqual(['add a', 'add b', 'add c', 'update b', 'delete a']);
    expect([...cache.indexed('y')].map((o) => o.metadata.name)).toEqual(['c']);
    expect(cache.get('c', 'ns')).toMatchObject({ trimmed: true });

    // The server ends the watch (its timeout): resume from the bookmark, no new list.
    api.lastWatch().res.end();
    await expect.poll(() => api.state.watches.length).toBe(2);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('20');
    expect(api.state.lists).toBe(1);

    // Too old: a 410 in the stream. The relist reports what went away meanwhile.
    api.state.items = [thing('b', 12, 'x'), thing('d', 30)];
    api.state.rv = 30;
    api.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    api.lastWatch().res.end();
    // ListWatch waits a second before re-watching after a watch that brought no object.
    await expect.poll(() => api.state.watches.length, { timeout: 3000 }).toBe(3);
    expect(api.state.lists).toBe(2);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('30');
    expect(changes.slice(5).sort()).toEqual(['add d', 'delete c']);
    expect(cache.list('ns').map((o) => o.metadata.name).sort()).toEqual(['b', 'd']);
  });

  it('resumes from its last resourceVersion after the apiserver goes away and comes back', async () => {
    const api = fakeApiserver();
    api.state.items = [thing('a', 5)];
    api.state.rv = 5;
    await api.listen();
    const changes: string[] = [];
    const cache = informer<Thing>({
      client: kubeClient(kubeconfig(api.port)),
      path: '/apis/x/v1/things',
      trim: (o: Thing) => o,
      onChange: (c, o) => changes.push(`${c} ${o.metadata.name}`),
      logger: createLogger('test', 'silent'),
      minBackoffMs: 20,
      maxBackoffMs: 100,
    });
    cleanup.push(() => cache.stop());
    cache.start();
    await expect.poll(() => api.state.watches.length).toBe(1);
    api.send('ADDED', thing('b', 6));
    await expect.poll(() => changes).toContain('add b');

    await api.stop();
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts while it is down
    await api.listen();
    cleanup.push(() => api.stop());
    await expect.poll(() => api.state.watches.length, { timeout: 3000 }).toBe(2);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('6');
    expect(api.state.lists).toBe(1); // nothing was lost, so nothing is listed again
    api.send('MODIFIED', thing('a', 7));
    await expect.poll(() => changes).toContain('update a');
  });
});
