import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.ts';
import { informer } from '../../../webhook/informer.ts';
import { KubeApiError, type KubeClient } from '../../../core/kube-client.ts';
import type { WatchFn } from '../../../webhook/informer.ts';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
  value: number;
}
const obj = (name: string, value: number, rv: number): Obj => ({ metadata: { name, namespace: 'shop', resourceVersion: String(rv) }, value });

/** A client whose list answers from `items` and whose watches the test drives by hand. */
function fakeClient(items: () => Obj[], rv: () => number) {
  const lists: Array<Record<string, string | undefined>> = [];
  const watches: Array<{ query: Record<string, string>; event: (type: string, o: unknown) => void; done: (err: unknown) => void }> = [];
  let failNextList = false;
  const client: Pick<KubeClient, 'request'> = {
    async request<T>(_method: string, _path: string, options?: { query?: Record<string, string | undefined> }) {
      lists.push(options?.query ?? {});
      if (failNextList) {
        failNextList = false;
        throw new KubeApiError('GET', '/x', 500, 'InternalError', 'boom');
      }
      return { metadata: { resourceVersion: String(rv()) }, items: items() } as T;
    },
  };
  const watch: WatchFn = async (_path, query, onEvent, done) => {
    watches.push({ query, event: onEvent, done });
    return new AbortController();
  };
  return { client, watch, lists, watches, failNextList: () => (failNextList = true) };
}

describe('informer', () => {
  it('lists, follows watch events, resumes from the last version and relists after 410 Gone', async () => {
    let items = [obj('a', 1, 10)];
    let rv = 10;
    const fake = fakeClient(() => items, () => rv);
    const cache = informer<Obj, number>({ client: fake.client, watch: fake.watch, path: '/apis/x/v1/objs', fieldSelector: 'metadata.namespace!=kube-system', summarize: (o) => o.value, logger: createLogger('test', 'silent') });
    cache.start();
    await expect.poll(() => fake.watches.length).toBe(1);
    expect(cache.synced()).toBe(true);
    expect(cache.get('shop', 'a')).toBe(1);
    expect(fake.lists[0]).toMatchObject({ fieldSelector: 'metadata.namespace!=kube-system', limit: '500' });
    expect(fake.watches[0]!.query).toMatchObject({ resourceVersion: '10', fieldSelector: 'metadata.namespace!=kube-system', allowWatchBookmarks: 'true' });

    const w = fake.watches[0]!;
    w.event('ADDED', obj('b', 2, 11));
    w.event('MODIFIED', obj('a', 3, 12));
    w.event('DELETED', obj('b', 2, 13));
    w.event('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect([...cache.list('shop')]).toEqual([3]);

    w.done(null); // the server ended the watch: resume where it was
    await expect.poll(() => fake.watches.length).toBe(2);
    expect(fake.watches[1]!.query.resourceVersion).toBe('20');
    expect(fake.lists).toHaveLength(1);

    items = [obj('c', 5, 30)];
    rv = 30;
    fake.watches[1]!.event('ERROR', { code: 410, message: 'too old resource version' });
    fake.watches[1]!.done(null);
    await expect.poll(() => fake.watches.length).toBe(3);
    expect(fake.lists).toHaveLength(2);
    expect(fake.watches[2]!.query.resourceVersion).toBe('30');
    expect([...cache.list('shop')]).toEqual([5]);
    cache.stop();
  });

  it('retries a failed list, and is not synced until one succeeds', async () => {
    const fake = fakeClient(() => [obj('a', 1, 1)], () => 1);
    fake.failNextList();
    const cache = informer<Obj, number>({ client: fake.client, watch: fake.watch, path: '/x', summarize: (o) => o.value, logger: createLogger('test', 'silent') });
    cache.start();
    await expect.poll(() => fake.lists.length).toBe(1);
    expect(cache.synced()).toBe(false);
    await expect.poll(() => cache.synced(), { timeout: 3000 }).toBe(true);
    expect(cache.get('shop', 'a')).toBe(1);
    cache.stop();
  });
});
