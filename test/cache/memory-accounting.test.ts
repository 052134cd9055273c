/**
 * The in-memory tiers' byte bounds count what their entries really keep: filled with many small entries
 * (where per-entry objects outweigh the payload), the memory V8 reports for them stays within the bound.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { DerivativeCache, type Derivative } from '../../src/cache/derivative-cache.ts';
import { DiskStore } from '../../src/cache/disk-store.ts';
import { exactCopy } from '../../src/cache/footprint.ts';
import { assetRef, Freshness } from '../../src/cache/freshness.ts';
import { assetGroup } from '../../src/cache/layout.ts';
import { MemoryLru } from '../../src/cache/memory-lru.ts';
import { masterContent, OriginCache, type Master } from '../../src/cache/origin-cache.ts';
import { respondHit } from '../../src/delivery/respond.ts';
import { RouteMemo } from '../../src/delivery/routes.ts';
import { DecodedMasters } from '../../src/render/decoded-masters.ts';
import { parseParams } from '../../src/render/params.ts';
import { FolderOrigin } from '../../src/sources/folder-origin.ts';
import { DEFAULT_DEPLOYMENT, type SourceRecord } from '../../src/store/source-record.ts';
import { SourceRegistry } from '../../src/sources/registry.ts';
import { bootstrap } from '../../src/bootstrap.ts';
import { openStores } from '../../src/store/open-stores.ts';

setFlagsFromString('--expose-gc');
// V8 drops the bytecode of functions not run for a few collections (the modules' top-level code, say): on
// Node 22 that alone freed megabytes between two readings and swamped what the tiers keep.
setFlagsFromString('--no-flush-bytecode');
const gc = runInNewContext('gc') as () => void;

/**
 * JS heap and external memory (ArrayBuffers included) still referenced after full collections. Freed
 * ArrayBuffers leave the external count when V8's background sweeper gets to them, hence the pauses, repeated
 * until two readings agree.
 */
async function retained(): Promise<number> {
  let last = Number.NaN;
  for (let i = 0; i < 12; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { heapUsed, external } = process.memoryUsage();
    const now = heapUsed + external;
    if (i >= 2 && Math.abs(now - last) < 64 * 1024) return now;
    last = now;
  }
  return last;
}

/**
 * Real memory within what is counted (give or take the measurement's noise), and not wildly over-counted
 * either, which would waste the tier.
 */
function assertHonest(real: number, counted: number, bound: number): void {
  assert.ok(counted <= bound, `counted ${counted} bytes, over the bound of ${bound}`);
  assert.ok(real <= counted * 1.2, `the entries keep ${real} bytes but only ${counted} are counted`);
  assert.ok(real >= counted * 0.4, `the entries keep ${real} bytes but ${counted} are counted`);
}

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-accounting-'));
  tempDirs.push(dir);
  return dir;
}

/** A disk tier that keeps nothing (every write is evicted at once), so only the memory tier holds entries. */
async function emptyDisk<M>(): Promise<DiskStore<M>> {
  const disk = new DiskStore<M>(path.join(await tempDir(), 'cache'), 1);
  await (await disk.init()).ready;
  return disk;
}

async function writesDone(disk: DiskStore<unknown>, group: string): Promise<void> {
  while (disk.countGroup(group) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
}

const SOURCE_ID = '5ed56238a04d080001d4a08e';
const BOUND = 2 * 1024 * 1024;

describe('memory accounting of the in-memory tiers', () => {
  it('counts what tiny derivatives keep, header blocks included', async () => {
    const disk = await emptyDisk<Derivative['meta']>();
    const memory = new MemoryLru<Derivative>(BOUND);
    const cache = new DerivativeCache(new Freshness(), disk, memory);
    const key = (i: number): string => `r2\n${SOURCE_ID}\n/tiny/t${i}.png\nfm=webp&w=${i + 2}\nwebp`;
    const before = await retained();
    for (let i = 0; i < 4000; i++) {
      const body = exactCopy(Buffer.from(`RIFF....WEBPVP8L tiny image number ${i}`.repeat(3)));
      const derivative: Derivative = {
        body,
        meta: {
          status: 200,
          contentType: 'image/webp',
          etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
          maxAge: 31536000,
          expiresAt: Date.now() + 3600_000,
          builtAt: 0,
          deps: [assetRef(SOURCE_ID, `/tiny/t${i}.png`)],
          // Its own strings, as an entry read back from the disk tier has them.
          content: [`folder:/srv/pictor/assets/tiny/t${i}.png`, `sha256:${createHash('sha256').update(body).digest('hex')}`],
          varyAccept: false,
        },
      };
      assert.ok(cache.store(key(i), 'group', derivative));
    }
    await writesDone(disk, 'group');
    for (let i = 0; i < 4000; i++) {
      const hit = cache.fromMemory(key(i));
      if (hit) respondHit(hit, { ifNoneMatch: undefined, expires: undefined }, 'memory');
    }
    assert.ok(memory.size > 500 && memory.size < 4000, `${memory.size} entries: the tier is full and evicting`);
    assertHonest((await retained()) - before, memory.bytes, BOUND);
  });

  it('counts what tiny masters keep, metadata, content hash and content ids included', async () => {
    const assets = await tempDir();
    for (let i = 0; i < 3000; i++) await fs.writeFile(path.join(assets, `t${i}.png`), `tiny master ${i} `.repeat(4));
    const source: SourceRecord = {
      id: SOURCE_ID,
      name: 'default',
      enabled: true,
      secureUrlToken: undefined,
      dateDeployed: 0,
      deployment: { ...DEFAULT_DEPLOYMENT, type: 'folder', folder_path: assets },
    };
    const origin = new FolderOrigin(assets, 1e6, [assets]);
    const disk = await emptyDisk<Master['meta']>();
    const memory = new MemoryLru<Master>(BOUND);
    const cache = new OriginCache(new Freshness(), disk, memory);
    const before = await retained();
    // Each with its content id list, as a render makes it (shared by the master's derivatives).
    for (let i = 0; i < 3000; i++) masterContent((await cache.get(source, origin, `/t${i}.png`)).master.meta);
    for (let i = 0; i < 3000; i++) await writesDone(disk, assetGroup(SOURCE_ID, `/t${i}.png`));
    assert.ok(memory.size > 500 && memory.size < 3000, `${memory.size} entries: the tier is full and evicting`);
    assertHonest((await retained()) - before, memory.bytes, BOUND);
  });

  it('counts what parsed routes keep', async () => {
    const dataDir = await tempDir();
    const stores = await openStores({ dataDir });
    const assetsDir = await tempDir();
    const options = { assetsDir, folderRoots: [assetsDir], publicUrl: undefined, maxInputBytes: 1e6, outboundAllow: [], originTimeoutSeconds: 5 };
    const sources = await SourceRegistry.open(stores.sources, options, (await bootstrap(stores, options)).defaultSourceId);
    const source = sources.forHost(undefined);
    const memo = new RouteMemo(sources, BOUND);
    const before = await retained();
    for (let i = 0; i < 6000; i++) memo.route(source, `/photos/2024/summer/image-${i}.jpg?w=${2 + (i % 4000)}&h=300&fit=crop&fm=webp&q=${i % 100}`);
    const counted = memo.bytes;
    assertHonest((await retained()) - before, counted, BOUND);
    await sources.close();
    await stores.close();
  });

  it('counts what decoded levels keep', async () => {
    const masters = new DecodedMasters(BOUND);
    const tiny = await sharp({ create: { width: 24, height: 16, channels: 3, background: '#c84' } }).png().toBuffer();
    const info = { width: 24, height: 16, format: 'png', pages: 1, hasAlpha: false, limitInputPixels: 1e8 };
    const { params } = parseParams('w=20');
    const before = await retained();
    for (let i = 0; i < 3000; i++) await masters.source(`${SOURCE_ID}:/t${i}.png#${'0'.repeat(64)}`, tiny, info, params, { maxSide: 8192, maxPixels: 8192 * 8192 });
    assertHonest((await retained()) - before, masters.bytes, BOUND);
  });
});
