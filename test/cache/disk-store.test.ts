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
    const store = new DiskStore<object>(path.join(await tempDir(), 'cache'), 3 * 8192);
    await (await store.init()).ready;
    const body = Buffer.alloc(5000); // two filesystem blocks with its header
    await store.write('g', 'a', {}, body);
    await store.write('g', 'b', {}, body);
    await store.write('g', 'c', {}, body);
    await store.read('g', 'a'); // a is now the most recently used
    await store.write('g', 'd', {}, body);
    assert.ok(store.bytes <= 3 * 8192, `${store.bytes} bytes`);
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

  it('counts small files in whole blocks, so many tiny entries cannot outgrow the bound in files', async () => {
    const store = new DiskStore<object>(path.join(await tempDir(), 'cache'), 10 * 4096);
    await (await store.init()).ready;
    for (let i = 0; i < 50; i++) await store.write('g', `tiny${i}`, {}, Buffer.from('x'));
    assert.equal(store.files, 10);
    assert.equal(store.bytes, 10 * 4096);
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
    const entry = MemoryLru.entryBytes('a', 40);
    const lru = new MemoryLru<string>(2 * entry + 10, 2 * entry);
    lru.set('a', 'a', 40);
    lru.set('b', 'b', 40);
    lru.get('a');
    lru.set('c', 'c', 40);
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 'a');
    assert.ok(lru.bytes <= 2 * entry + 10);
  });

  it('counts the key and the record of each entry, not only its value', () => {
    const lru = new MemoryLru<string>(1_000_000);
    lru.set('a-rather-long-key', 'x', 1);
    assert.equal(lru.bytes, MemoryLru.entryBytes('a-rather-long-key', 1));
    assert.ok(lru.bytes > 'a-rather-long-key'.length + 64, `${lru.bytes} bytes`);
    lru.delete('a-rather-long-key');
    assert.equal(lru.bytes, 0);
  });

  it('keeps an old entry that is read over the unread ones, in a tier of many entries', () => {
    const entry = MemoryLru.entryBytes('k0', 10);
    const lru = new MemoryLru<number>(8 * entry, entry);
    for (let i = 0; i < 8; i++) lru.set(`k${i}`, i, 10);
    assert.equal(lru.get('k0'), 0); // the oldest: read, so it moves to the young end
    for (let i = 8; i < 12; i++) lru.set(`k${i + 80}`, i, 9); // a longer key, a smaller value: the same entry size
    assert.equal(lru.get('k0'), 0);
    assert.deepEqual([1, 2, 3, 4].map((i) => lru.get(`k${i}`)), [undefined, undefined, undefined, undefined]);
    assert.equal(lru.size, 8);
  });

  it('refuses a single item larger than its item bound', () => {
    const lru = new MemoryLru<string>(10_000, 1000);
    lru.set('big', 'x', 1000);
    assert.equal(lru.get('big'), undefined);
  });
});
