import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DiskStore } from '../../src/cache/disk-store.ts';
import { assetGroup, entryName } from '../../src/cache/layout.ts';
import { MemoryLru } from '../../src/cache/memory-lru.ts';

const exec = promisify(execFile);

const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-disk-'));
  tempDirs.push(dir);
  return dir;
}

after(() => Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

describe('DiskStore', () => {
  it('round-trips metadata and body', async () => {
    const store = new DiskStore<{ n: number }>(path.join(await tempDir(), 'cache'), 1e6);
    await store.init();
    assert.equal(store.write('g/1', 'x', { n: 7 }, Buffer.from('hello')), true);
    await store.settled();
    const entry = await store.read('g/1', 'x');
    assert.deepEqual(entry?.meta, { n: 7 });
    assert.equal(entry?.body.toString(), 'hello');
    assert.equal(await store.read('g/1', 'missing'), undefined);
  });

  it('stays under its size bound, in blocks, by evicting the least recently used', async () => {
    const root = path.join(await tempDir(), 'cache');
    const block = (await fs.statfs(path.dirname(root))).bsize;
    // The root and the group's directory, and three files of one block each.
    const bound = 5 * block;
    const store = new DiskStore<object>(root, bound);
    await (await store.init()).ready;
    const body = Buffer.alloc(block / 4);
    for (const name of ['a', 'b', 'c']) {
      store.write('g', name, {}, body);
      await store.settled();
    }
    assert.equal(store.bytes, bound);
    await store.read('g', 'a'); // a is now the most recently used
    store.write('g', 'd', {}, body);
    await store.settled();
    assert.ok(store.bytes <= bound, `${store.bytes} bytes`);
    assert.ok(await store.read('g', 'a'), 'recently used entry kept');
    assert.equal(await store.read('g', 'b'), undefined, 'least recently used entry evicted');
  });

  it('drops a whole group in the background and rebuilds its index after a restart', async () => {
    const root = path.join(await tempDir(), 'cache');
    const store = new DiskStore<object>(root, 1e6);
    await store.init();
    for (const name of ['a', 'b', 'c']) store.write('s/aa/asset', name, {}, Buffer.from(name));
    store.write('s/bb/other', 'a', {}, Buffer.from('keep'));
    await store.settled();
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

describe('DiskStore block accounting', () => {
  /** What `du` says the directory takes, in bytes. */
  async function du(dir: string): Promise<number> {
    const { stdout } = await exec('du', ['-sk', dir]);
    return Number(stdout.split('\t')[0]) * 1024;
  }

  /** Tiny derivatives as the layout places them: a few per asset, in one directory per asset. */
  function fillWithTinyDerivatives(store: DiskStore<object>, assets: number, perAsset: number): number {
    let bytes = 0;
    for (let asset = 0; asset < assets; asset++) {
      for (let variant = 0; variant < perAsset; variant++) {
        const body = Buffer.alloc(100 + ((asset * 7 + variant * 13) % 400), asset);
        store.write(assetGroup('5ed56238a04d080001d4a08e', `/icons/${asset}.png`), entryName(`w=${variant}`), { asset, variant }, body);
        bytes += body.length;
      }
    }
    return bytes;
  }

  it('counts what the files and directories take on disk, as du does, while writing and after a restart', async () => {
    const root = path.join(await tempDir(), 'cache');
    const store = new DiskStore<object>(root, 1e9);
    await (await store.init()).ready;
    const bodies = fillWithTinyDerivatives(store, 300, 3);
    await store.settled();
    const used = await du(root);
    assert.ok(used > 4 * bodies, `tiny files take far more than their bytes (${used} on disk for ${bodies})`);
    assert.ok(Math.abs(store.bytes - used) <= used * 0.1, `counted ${store.bytes}, du says ${used}`);

    const restarted = new DiskStore<object>(root, 1e9);
    await (await restarted.init()).ready;
    assert.equal(restarted.files, 900);
    assert.ok(Math.abs(restarted.bytes - used) <= used * 0.1, `rebuilt ${restarted.bytes}, du says ${used}`);
  });

  it('keeps what du measures under the bound, removing the directories of evicted assets', async () => {
    const root = path.join(await tempDir(), 'cache');
    const bound = 512 * 1024;
    const store = new DiskStore<object>(root, bound);
    await (await store.init()).ready;
    for (let round = 0; round < 4; round++) {
      fillWithTinyDerivatives(store, 100, 1 + round);
      await store.settled();
    }
    assert.ok(store.bytes <= bound, `counted ${store.bytes}`);
    const used = await du(root);
    assert.ok(used <= bound * 1.1, `du says ${used} for a bound of ${bound}`);
    const { stdout } = await exec('find', [root, '-mindepth', '3', '-type', 'd', '-empty']);
    assert.equal(stdout, '', 'no empty asset directory left behind');
  });
});

describe('DiskStore on a failing disk', () => {
  function observed(root: string, maxBytes = 1e6) {
    const problems: (string | undefined)[] = [];
    const codes: string[] = [];
    const store = new DiskStore<object>(root, maxBytes, {
      health: (problem) => problems.push(problem),
      writeError: (code) => codes.push(code),
      probeIntervalMs: PROBE_MS,
    });
    return { store, problems, codes };
  }
  const PROBE_MS = 50;
  const pastProbeInterval = () => new Promise((resolve) => setTimeout(resolve, PROBE_MS + 10));

  it('starts degraded when its directory cannot be made, and works once it can', async () => {
    const parent = await tempDir();
    const blocker = path.join(parent, 'data');
    await fs.writeFile(blocker, 'a file where the data directory should be');
    const root = path.join(blocker, 'cache');
    const { store, problems, codes } = observed(root);
    await (await store.init()).ready;
    assert.equal(store.degraded, true);
    assert.deepEqual(codes, ['ENOTDIR']);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^cannot create the disk cache at .*\/data\/cache: a file is in the way of a directory \(ENOTDIR\); serving without it$/);
    assert.equal(store.write('g', 'a', {}, Buffer.from('a')), false, 'not stored while degraded');
    await store.settled();

    await fs.rm(blocker);
    await pastProbeInterval();
    assert.equal(store.write('g', 'b', {}, Buffer.from('b')), false, 'the probe is not reported as stored');
    await store.settled();
    assert.equal(store.degraded, false);
    assert.equal(problems.at(-1), undefined, 'recovery reported');
    assert.equal((await store.read('g', 'b'))?.body.toString(), 'b', 'the probe wrote its entry');
    assert.equal(store.write('g', 'c', {}, Buffer.from('c')), true);
    await store.settled();
    assert.equal((await store.read('g', 'c'))?.body.toString(), 'c');
  });

  it('degrades when its directories vanish, stops writing, and makes them again with a probe', async () => {
    const root = path.join(await tempDir(), 'cache');
    const { store, problems, codes } = observed(root);
    await (await store.init()).ready;
    assert.deepEqual(problems, [undefined], 'healthy from the start');
    store.write('g', 'a', {}, Buffer.from('a'));
    await store.settled();

    await fs.rm(root, { recursive: true });
    await fs.rm(`${root}.tmp`, { recursive: true });
    assert.equal(store.write('g', 'b', {}, Buffer.from('b')), true, 'not known to fail yet');
    await store.settled();
    assert.equal(store.degraded, true);
    assert.deepEqual(codes, ['ENOENT']);
    assert.match(problems.at(-1)!, /cannot write the disk cache at .*: a directory is missing \(ENOENT\)/);
    assert.equal(await store.read('g', 'a'), undefined, 'a vanished file is a miss, not an error');

    for (let i = 0; i < 50; i++) assert.equal(store.write('g', `x${i}`, {}, Buffer.from('x')), false);
    await store.settled();
    assert.deepEqual(codes, ['ENOENT'], 'no write tried the disk within the probe interval');

    await pastProbeInterval();
    store.write('g', 'c', {}, Buffer.from('c'));
    await store.settled();
    assert.equal(store.degraded, false);
    assert.equal(problems.at(-1), undefined);
    assert.equal(store.write('g', 'd', {}, Buffer.from('d')), true);
    await store.settled();
    assert.equal((await store.read('g', 'd'))?.body.toString(), 'd');
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
