import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/store/stores.ts';
import { storeBackends } from '../helpers/store-backends.ts';

/** The contract both implementations keep; `open` gives two handles (two nodes) on one empty database. */
function edgeCacheKeysContract(open: () => Promise<[Stores, Stores]>): void {
  it('files recorded keys under their edge keys, per edge, shared by the nodes', async () => {
    const [one, two] = await open();
    await one.edges.add({ name: 'ngx', kind: 'nginx', url: 'http://127.0.0.1:1' });
    assert.equal(await one.edgeCacheKeys.record('ngx', 'h/a.jpg?w=1|', ['a-1', 's-1'], 9000, 10, 1000), true);
    assert.equal(await two.edgeCacheKeys.record('ngx', 'h/a.jpg?w=2|', ['a-1', 's-1'], 9000, 10, 1000), true);
    assert.equal(await two.edgeCacheKeys.record('ngx', 'h/b.jpg|', ['a-2', 's-1'], 9000, 10, 1100), true);
    assert.equal(await one.edgeCacheKeys.record('other', 'h/a.jpg?w=1|', ['a-1'], 9000, 10, 1000), true);
    const keys = async (stores: Stores, edgeKeys: string[] | 'all'): Promise<string[]> =>
      (await stores.edgeCacheKeys.covered('ngx', edgeKeys)).map((entry) => entry.cacheKey).sort();
    assert.deepEqual(await keys(one, ['a-1']), ['h/a.jpg?w=1|', 'h/a.jpg?w=2|']);
    assert.deepEqual(await keys(two, ['s-1']), ['h/a.jpg?w=1|', 'h/a.jpg?w=2|', 'h/b.jpg|']);
    assert.deepEqual(await keys(one, ['a-2', 'a-1']), ['h/a.jpg?w=1|', 'h/a.jpg?w=2|', 'h/b.jpg|']);
    assert.deepEqual(await keys(one, 'all'), ['h/a.jpg?w=1|', 'h/a.jpg?w=2|', 'h/b.jpg|']);
    assert.deepEqual(await keys(one, []), []);
    assert.equal(await one.edgeCacheKeys.count('ngx'), 3);
  });

  it('refuses a new key at the bound, and still records one it has', async () => {
    const [stores] = await open();
    assert.equal(await stores.edgeCacheKeys.record('ngx', 'k1', ['a-1'], 9000, 2, 1000), true);
    assert.equal(await stores.edgeCacheKeys.record('ngx', 'k2', ['a-1'], 9000, 2, 1000), true);
    assert.equal(await stores.edgeCacheKeys.record('ngx', 'k3', ['a-1'], 9000, 2, 1000), false);
    assert.equal(await stores.edgeCacheKeys.record('ngx', 'k1', ['a-1'], 9500, 2, 1200), true);
    assert.equal(await stores.edgeCacheKeys.count('ngx'), 2);
  });

  it('forgets purged keys unless recorded again since the purge began', async () => {
    const [stores] = await open();
    await stores.edgeCacheKeys.record('ngx', 'k1', ['a-1'], 9000, 10, 1000);
    await stores.edgeCacheKeys.record('ngx', 'k2', ['a-1'], 9000, 10, 1000);
    await stores.edgeCacheKeys.record('ngx', 'k2', ['a-1'], 9000, 10, 3000);
    await stores.edgeCacheKeys.forget('ngx', ['k1', 'k2'], 2000);
    assert.deepEqual((await stores.edgeCacheKeys.covered('ngx', ['a-1'])).map((entry) => entry.cacheKey), ['k2']);
  });

  it('expires keys past their time and the keys of edges no longer registered', async () => {
    const [stores] = await open();
    await stores.edges.add({ name: 'ngx', kind: 'nginx', url: 'http://127.0.0.1:1' });
    await stores.edgeCacheKeys.record('ngx', 'old', ['a-1'], 5000, 10, 1000);
    await stores.edgeCacheKeys.record('ngx', 'new', ['a-1'], 9000, 10, 1000);
    await stores.edgeCacheKeys.record('gone', 'k', ['a-1'], 9000, 10, 1000);
    assert.equal(await stores.edgeCacheKeys.expire(6000, 100), 2);
    assert.deepEqual((await stores.edgeCacheKeys.covered('ngx', ['a-1'])).map((entry) => entry.cacheKey), ['new']);
    assert.equal(await stores.edgeCacheKeys.count('gone'), 0);
    assert.equal(await stores.edgeCacheKeys.expire(6000, 100), 0);
  });
}

for (const backend of storeBackends('edge-keys')) {
  describe(`EdgeCacheKeyStore on ${backend.name}`, () =>
    edgeCacheKeysContract(async () => {
      const fresh = await backend.fresh();
      return [await fresh.open(), await fresh.open()];
    }));
}
