import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DerivativeCache, type DerivativeMeta } from '../../src/cache/derivative-cache.ts';
import { DiskStore } from '../../src/cache/disk-store.ts';
import { assetRef, Freshness } from '../../src/cache/freshness.ts';
import { entryName } from '../../src/cache/layout.ts';
import { MemoryLru } from '../../src/cache/memory-lru.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function diskTier(): Promise<DiskStore<DerivativeMeta>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-derivatives-'));
  dirs.push(dir);
  const disk = new DiskStore<DerivativeMeta>(path.join(dir, 'cache'), 64 * 1024 * 1024);
  await (await disk.init()).ready;
  return disk;
}

const META = {
  status: 200,
  contentType: 'image/jpeg',
  etag: '"e"',
  maxAge: 3600,
  expiresAt: Date.now() + 3_600_000,
  builtAt: 0,
  deps: [assetRef('s', '/a.jpg')],
  varyAccept: false,
};

describe('DerivativeCache: entries without content ids', () => {
  it('an entry written by an older version (no content ids) is not served from disk, so it is rendered again; one with them is', async () => {
    const disk = await diskTier();
    const cache = new DerivativeCache(new Freshness(), disk, new MemoryLru(1024 * 1024));
    disk.write('g', entryName('old'), META, Buffer.from('older bytes'));
    disk.write('g', entryName('new'), { ...META, content: ['folder:/srv/a.jpg', `sha256:${'0'.repeat(64)}`] }, Buffer.from('bytes'));
    await disk.settled();
    assert.equal(await cache.fromDisk('old', 'g'), undefined);
    assert.equal(cache.fromMemory('old'), undefined, 'nor promoted to memory');
    assert.equal((await cache.fromDisk('new', 'g'))?.body.toString(), 'bytes');
    assert.equal(cache.fromMemory('new')?.body.toString(), 'bytes');
  });
});
