import t from 'tap';
import { RefreshingCache } from '../../frontend/src/core/refreshing-cache.ts';

/** A load whose answers the test hands out one by one. */
function controlledLoad() {
  const pending: Array<{ key: string; resolve: (v: string) => void; reject: (e: unknown) => void }> = [];
  const load = (key: string): Promise<string> => new Promise((resolve, reject) => pending.push({ key, resolve, reject }));
  return { load, pending };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('a fresh entry is served without a load; a stale one is served while it reloads in the background', async (t) => {
  let now = 0;
  const { load, pending } = controlledLoad();
  const cache = new RefreshingCache(load, { freshMs: 100, maxStaleMs: 1_000, now: () => now });
  const first = cache.get('q');
  t.equal(pending.length, 1, 'a missing entry is loaded');
  pending.shift()!.resolve('v1');
  t.equal(await first, 'v1');

  now = 99;
  t.equal(await cache.get('q'), 'v1');
  t.equal(pending.length, 0, 'fresh: no load');

  now = 150;
  t.equal(await cache.get('q'), 'v1', 'stale: served at once');
  t.equal(await cache.get('q'), 'v1');
  t.equal(pending.length, 1, 'one background load for any number of stale reads');
  pending.shift()!.resolve('v2');
  await settle();
  t.equal(await cache.get('q'), 'v2', 'the reloaded value replaces it');
  t.equal(pending.length, 0, 'and it is fresh again');
});

t.test('an entry past maxStaleMs, or an explicit refresh, waits for a load', async (t) => {
  let now = 0;
  const { load, pending } = controlledLoad();
  const cache = new RefreshingCache(load, { freshMs: 100, maxStaleMs: 1_000, now: () => now });
  cache.set('q', 'v1');
  now = 1_000;
  let answered: string | undefined;
  const waiting = cache.get('q').then((v) => (answered = v));
  await settle();
  t.equal(answered, undefined, 'too old to serve');
  pending.shift()!.resolve('v2');
  await waiting;
  t.equal(answered, 'v2');

  const refreshed = cache.get('q', true);
  t.equal(pending.length, 1, 'a refresh loads even a fresh entry');
  pending.shift()!.resolve('v3');
  t.equal(await refreshed, 'v3');
  t.equal(await cache.get('q'), 'v3');
});

t.test('a failed background load keeps the entry unless the thing is gone', async (t) => {
  let now = 0;
  const { load, pending } = controlledLoad();
  const cache = new RefreshingCache(load, { freshMs: 100, maxStaleMs: 1_000, now: () => now, forgetOnError: (e) => (e as Error).message === 'gone' });
  cache.set('q', 'v1');
  now = 200;
  t.equal(await cache.get('q'), 'v1');
  pending.shift()!.reject(new Error('unreachable'));
  await settle();
  t.equal(await cache.get('q'), 'v1', 'kept through an outage');
  pending.shift()!.reject(new Error('gone'));
  await settle();
  const next = cache.get('q');
  t.equal(pending.length, 1, 'dropped: the next read waits for a load');
  pending.shift()!.reject(new Error('gone'));
  await t.rejects(next, { message: 'gone' }, 'and gets the error');
});

t.test('a load that started earlier never replaces a newer value, nor brings back a deleted one', async (t) => {
  let now = 0;
  const { load, pending } = controlledLoad();
  const cache = new RefreshingCache(load, { freshMs: 100, maxStaleMs: 1_000, now: () => now });
  cache.set('q', 'v1');
  now = 200;
  await cache.get('q'); // background load A starts
  const refreshed = cache.get('q', true); // load B starts later
  const [a, b] = [pending.shift()!, pending.shift()!];
  b.resolve('new');
  t.equal(await refreshed, 'new');
  a.resolve('old');
  await settle();
  t.equal(await cache.get('q'), 'new', 'the older load finished last but did not win');

  now = 400;
  await cache.get('q'); // background load C
  cache.delete('q');
  pending.shift()!.resolve('from before the delete');
  await settle();
  const after = cache.get('q');
  t.equal(pending.length, 1, 'the deleted entry was not brought back');
  pending.shift()!.resolve('after');
  t.equal(await after, 'after');
});
