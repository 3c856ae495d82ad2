// The one cache against a stand-in apiserver over real HTTP (the list and watch wire format: JSON lists
// with limit/continue, line-delimited watch events): list, watch, bookmarks, server-closed watches,
// 410 Gone, a failing list, and an apiserver that goes away and comes back. The real one is in e2e.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { informer, type Change } from '../../../core/informer.ts';
import { kubeClient } from '../../../core/kube-client.ts';
import { createLogger } from '../../../core/log.ts';
import { waitFor, watchUntil } from '../../../core/wait-for.ts';

interface Thing {
  metadata: { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string> };
  group?: string;
  trimmed?: boolean;
}
const thing = (name: string, rv: number, group = 'x'): Thing => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv), labels: { group } }, group });

function fakeApiserver(pageSize = Infinity) {
  const state = { items: [] as Thing[], rv: 1, lists: [] as URLSearchParams[], onList: () => {}, failLists: 0, watches: [] as Array<{ query: URLSearchParams; res: ServerResponse }> };
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
    state.lists.push(url.searchParams);
    state.onList();
    if (state.failLists > 0) {
      state.failLists--;
      res.writeHead(500, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' }));
    }
    const from = Number(url.searchParams.get('continue') ?? 0);
    const page = state.items.slice(from, from + pageSize);
    const next = from + page.length < state.items.length ? String(from + page.length) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { resourceVersion: String(state.rv), ...(next ? { continue: next } : {}) }, items: page }));
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

function client(port: number) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });
  return kubeClient(kc);
}

const logger = createLogger('test', 'silent');
let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('informer', () => {
  it('lists in pages, watches with bookmarks, trims, indexes, resumes where it was and relists after 410 Gone', async () => {
    const api = fakeApiserver(1);
    api.state.items = [thing('a', 1), thing('b', 1, 'y')];
    api.state.rv = 10;
    await api.listen();
    const changes: string[] = [];
    const cache = informer<Thing>({
      client: client(api.port),
      path: '/apis/x/v1/things',
      labelSelector: 'tier=web',
      transform: (o: Thing) => ({ metadata: o.metadata, ...(o.group ? { group: o.group } : {}), trimmed: true }),
      indexBy: (o) => o.group,
      onChange: (c: Change, o) => changes.push(`${c} ${o.metadata.name}`),
      logger,
    });
    cleanup.push(() => cache.stop(), () => api.stop());
    cache.start();
    await cache.synced;
    expect(cache.hasSynced()).toBe(true);
    expect(api.state.lists.map((q) => [q.get('limit'), q.get('continue')])).toEqual([['500', null], ['500', '1']]);
    await expect.poll(() => api.state.watches.length).toBe(1);
    expect(cache.get('ns', 'a')).toMatchObject({ trimmed: true });
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
    expect(cache.get('ns', 'c')).toMatchObject({ trimmed: true });

    // The server ends the watch (its timeout): resume from the bookmark, no new list.
    api.lastWatch().res.end();
    await expect.poll(() => api.state.watches.length).toBe(2);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('20');
    expect(api.state.lists).toHaveLength(2);

    // Too old: a 410 in the stream. The relist reports what changed and what went away meanwhile.
    api.state.items = [thing('b', 12, 'x'), thing('d', 30), thing('e', 31)];
    api.state.items[0]!.metadata.resourceVersion = '25';
    api.state.rv = 30;
    api.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await expect.poll(() => api.state.watches.length).toBe(3);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('30');
    expect(changes.slice(5).sort()).toEqual(['add d', 'add e', 'delete c', 'update b']);
    expect(cache.list('ns').map((o) => o.metadata.name).sort()).toEqual(['b', 'd', 'e']);
    expect(cache.list().length).toBe(3);
    expect([...cache.indexed('y')]).toEqual([]);
  });

  it('resumes from its last resourceVersion after the apiserver goes away and comes back', async () => {
    const api = fakeApiserver();
    api.state.items = [thing('a', 5)];
    api.state.rv = 5;
    await api.listen();
    const changes: string[] = [];
    const cache = informer<Thing>({ client: client(api.port), path: '/apis/x/v1/things', onChange: (c, o) => changes.push(`${c} ${o.metadata.name}`), logger, minBackoffMs: 20, maxBackoffMs: 100 });
    cleanup.push(() => cache.stop());
    cache.start();
    await expect.poll(() => api.state.watches.length).toBe(1);
    api.send('ADDED', thing('b', 6));
    await expect.poll(() => changes).toContain('add b');
    // An error in the stream other than 410: a pause, then the watch resumes where it was.
    api.send('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd hiccup' });
    await expect.poll(() => api.state.watches.length).toBe(2);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('6');

    await api.stop();
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts while it is down
    await api.listen();
    cleanup.push(() => api.stop());
    await expect.poll(() => api.state.watches.length, { timeout: 3000 }).toBe(3);
    expect(api.lastWatch().query.get('resourceVersion')).toBe('6');
    expect(api.state.lists).toHaveLength(1); // nothing was lost, so nothing is listed again
    api.send('MODIFIED', thing('a', 7));
    await expect.poll(() => changes).toContain('update a');
  });

  it('retries a failed list, and is not synced until one succeeds', async () => {
    const api = fakeApiserver();
    api.state.items = [thing('a', 1)];
    api.state.failLists = 2;
    await api.listen();
    const syncedAtList: boolean[] = [];
    const cache = informer<Thing>({ client: client(api.port), path: '/x', logger, minBackoffMs: 20 });
    api.state.onList = () => syncedAtList.push(cache.hasSynced());
    cleanup.push(() => cache.stop(), () => api.stop());
    cache.start();
    await cache.synced;
    expect(syncedAtList).toEqual([false, false, false]);
    expect(cache.get('ns', 'a')?.metadata.resourceVersion).toBe('1');
  });
});

describe('waitFor', () => {
  it('resolves when a change makes the condition true, and names the wait when the time is up', async () => {
    const api = fakeApiserver();
    api.state.items = [thing('a', 1)];
    await api.listen();
    cleanup.push(() => api.stop());
    const cache = informer<Thing>({ client: client(api.port), path: '/x', logger }).start();
    cleanup.push(() => cache.stop());
    const found = waitFor(cache, (c) => c.get('ns', 'b')?.group, 5000);
    await expect.poll(() => api.state.watches.length).toBe(1);
    api.send('ADDED', thing('b', 2, 'blue'));
    await expect(found).resolves.toBe('blue');

    // Already true once listed: no change needed. Never true: the caller's error.
    await expect(watchUntil<Thing, string>({ client: client(api.port), path: '/x', logger }, (c) => c.list('ns')[0]?.metadata.name, 5000)).resolves.toBe('a');
    await expect(waitFor(cache, () => undefined, 50, () => new Error('no c within 50ms'))).rejects.toThrow('no c within 50ms');
  });
});
