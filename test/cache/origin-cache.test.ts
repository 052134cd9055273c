import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DiskStore } from '../../src/cache/disk-store.ts';
import { Freshness } from '../../src/cache/freshness.ts';
import { assetGroup } from '../../src/cache/layout.ts';
import { MemoryLru } from '../../src/cache/memory-lru.ts';
import { masterContent, OriginCache, type Master, type MasterMeta } from '../../src/cache/origin-cache.ts';
import { FolderOrigin } from '../../src/sources/folder-origin.ts';
import { DEFAULT_DEPLOYMENT, type SourceRecord } from '../../src/store/source-record.ts';
import type { Origin, OriginResult } from '../../src/sources/origin.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-masters-')));
  dirs.push(dir);
  return dir;
}

describe('OriginCache: the origin object of masters', () => {
  it('keeps the object the origin named; a master cached by an older version (none) is revalidated before use, which names it', async () => {
    const assets = await tempDir();
    await fs.writeFile(path.join(assets, 'a.jpg'), 'the bytes');
    await fs.symlink('a.jpg', path.join(assets, 'alias.jpg'));
    const deployment = { ...DEFAULT_DEPLOYMENT, type: 'folder' as const, folder_path: assets };
    const source: SourceRecord = { id: 's', name: 'default', enabled: true, secureUrlToken: undefined, dateDeployed: 0, deployment };
    const folder = new FolderOrigin(assets, 1e6, [assets]);
    const results: OriginResult['kind'][] = [];
    const origin: Origin = { fetch: async (p, validators) => ((result) => (results.push(result.kind), result))(await folder.fetch(p, validators)) };
    const disk = new DiskStore<MasterMeta>(path.join(await tempDir(), 'cache'), 64 * 1024 * 1024);
    await (await disk.init()).ready;

    const fresh = await new OriginCache(new Freshness(), disk, new MemoryLru<Master>(1024 * 1024)).get(source, origin, '/alias.jpg');
    assert.equal(fresh.master.meta.object, `folder:${assets}/a.jpg`, 'the real path, after the symlink');
    assert.deepEqual(masterContent(fresh.master.meta), [`folder:${assets}/a.jpg`, `sha256:${fresh.master.meta.hash}`]);

    // The same master as an older version wrote it: unexpired, with validators, without an object.
    const { object: _object, ...older } = fresh.master.meta;
    disk.write(assetGroup('s', '/a.jpg'), 'master', older, Buffer.from('the bytes'));
    await disk.settled();
    results.length = 0;
    const cache = new OriginCache(new Freshness(), disk, new MemoryLru<Master>(1024 * 1024));
    const revalidated = await cache.get(source, origin, '/a.jpg');
    assert.equal(revalidated.result, 'revalidated');
    assert.deepEqual(results, ['not-modified'], 'a conditional fetch, not the bytes again');
    assert.equal(revalidated.master.meta.object, `folder:${assets}/a.jpg`);
    assert.equal(revalidated.master.meta.builtAt, older.builtAt, 'the same bytes: derivatives built from them stay valid');
    assert.equal((await cache.get(source, origin, '/a.jpg')).result, 'hit');
  });
});
