import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AssetIndexer } from '../../src/assets/asset-indexer.ts';
import { SqliteAssetStore } from '../../src/store/sqlite/asset-store.ts';
import { openDatabase } from '../../src/store/sqlite/db.ts';
import { rawGet, solidImage, startPictor } from '../helpers/pictor.ts';

describe('indexing never fails a render', () => {
  it('renders are served while the index cannot be written (its table dropped under the server)', async () => {
    const t = await startPictor({ assets: { 'a.jpg': await solidImage(10, 10, [255, 0, 0]), 'b.jpg': await solidImage(10, 10, [0, 255, 0]) } });
    try {
      assert.equal((await rawGet(t.renderPort, '/a.jpg?w=5')).status, 200);
      const db = openDatabase(t.dataDir);
      db.exec('DROP TABLE assets');
      db.close();
      for (const url of ['/b.jpg?w=5', '/b.jpg?w=5', '/b.jpg?w=6&fm=png']) assert.equal((await rawGet(t.renderPort, url)).status, 200, url);
    } finally {
      await t.stop();
    }
  });

  it('the background indexer reports a store failure and goes on with the next asset', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-indexer-'));
    const db = openDatabase(dir);
    const store = new SqliteAssetStore(db);
    const errors: unknown[] = [];
    const indexer = new AssetIndexer(store, (error) => errors.push(error));
    const master = async (rgb: [number, number, number]) => ({ body: await solidImage(6, 4, rgb), meta: { contentType: 'image/jpeg', hash: rgb.join() } });
    try {
      indexer.served('s', '/one.jpg', await master([1, 2, 3]));
      await indexer.idle();
      assert.deepEqual([(await store.get('s', '/one.jpg'))?.mediaWidth, errors.length], [6, 0]);
      db.exec('ALTER TABLE assets RENAME TO gone');
      indexer.served('s', '/two.jpg', await master([4, 5, 6]));
      await indexer.idle();
      assert.equal(errors.length, 1, 'reported');
      db.exec('ALTER TABLE gone RENAME TO assets');
      indexer.served('s', '/three.jpg', await master([7, 8, 9]));
      await indexer.idle();
      assert.equal((await store.get('s', '/three.jpg'))?.mediaHeight, 4, 'the next one is indexed');
      await indexer.stop();
      indexer.served('s', '/four.jpg', await master([1, 1, 1]));
      await indexer.idle();
      assert.equal(await store.get('s', '/four.jpg'), undefined, 'nothing after stop');
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
