import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DiskStore } from '../../src/cache/disk-store.ts';
import { MemoryLru } from '../../src/cache/memory-lru.ts';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'pictor-disk-'));
}

describe('DiskStore', () => {
  it('round-trips metadata and body', async () => {
    const store = new DiskStore<{ n: number }>(path.join(await tempDir(), 'cache'), 1e6);
    await store.init();
    await store.write('g/1', 'x', { n: 7 }, Buffer.from('hello'));
    const entry = await store.read('g/1', 'x');
    assert.deepEqual(entry?.meta, { n: 7 });
    assert.equal(entry?.body.toString(), 'hello');
    assert.equal(await store.read('g/1', 'missing'), undefined);
  });

  it('stays under its size bound by evicting the least recently used', async () => {
    const store = new DiskStore<object>(path.join(await tempDir(), 'cache'), 3500);
    await (await store.init()).ready;
    const body = Buffer.alloc(1000);
    await store.write('g', 'a', {}, body);
    await store.write('g', 'b', {}, body);
    await store.write('g', 'c', {}, body);
    await store.read('g', 'a'); // a is now the most recently used
    await store.write('g', 'd', {}, body);
    assert.ok(store.bytes <= 3500, `${store.bytes} bytes`);
    assert.ok(await store.read('g', 'a'), 'recently used entry kept');
    assert.equal(await store.read('g', 'b'), undefined, 'least recently used entry evicted');
  });

  it('drops a whole group in the background and rebuilds its index after a restart', async () => {
    const root = path.join(await tempDir(), 'cache');
    const store = new DiskStore<object>(root, 1e6);
    await store.init();
    for (const name of ['a', 'b', 'c']) await store.write('s/aa/asset', name, {}, Buffer.from(name));
    await store.write('s/bb/other', 'a', {}, Buffer.from('keep'));
    assert.equal(store.countGroup('s/aa/asset'), 3);
    store.dropGroup('s/aa/asset');
    await store.settled();
    assert.equal(store.countGroup('s/aa/asset'), 0);
    assert.equal(await store.read('s/aa/asset', 'a'), undefined);

    const restarted = new DiskStore<object>(root, 1e6);
    await (await restarted.init()).ready;
    assert.equal(restarted.files, 1);
    assert.equal((await restarted.read('s/bb/other', 'a'))?.body.toString(), 'keep');
  });

  it('ignores a corrupt file instead of serving it', async () => {
    const root = path.join(await tempDir(), 'cache');
    const store = new DiskStore<object>(root, 1e6);
    await store.init();
    await fs.mkdir(path.join(root, 'g'), { recursive: true });
    await fs.writeFile(path.join(root, 'g', 'bad'), 'not an entry');
    assert.equal(await store.read('g', 'bad'), undefined);
  });
});

describe('MemoryLru', () => {
  it('is bounded by bytes and evicts the oldest', () => {
    const lru = new MemoryLru<string>(100, 100);
    lru.set('a', 'a', 40);
    lru.set('b', 'b', 40);
    lru.get('a');
    lru.set('c', 'c', 40);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 'a');
    assert.ok(lru.bytes <= 100);
  });

  it('keeps an old entry that is read over the unread ones, in a tier of many entries', () => {
    const lru = new MemoryLru<number>(80, 10);
    for (let i = 0; i < 8; i++) lru.set(`k${i}`, i, 10);
    assert.equal(lru.get('k0'), 0); // the oldest: read, so it moves to the young end
    for (let i = 8; i < 12; i++) lru.set(`k${i}`, i, 10);
    assert.equal(lru.get('k0'), 0);
    assert.deepEqual([1, 2, 3, 4].map((i) => lru.get(`k${i}`)), [undefined, undefined, undefined, undefined]);
    assert.equal(lru.size, 8);
  });

  it('refuses a single item larger than its item bound', () => {
    const lru = new MemoryLru<string>(1000, 100);
    lru.set('big', 'x', 500);
    assert.equal(lru.get('big'), undefined);
  });
});
