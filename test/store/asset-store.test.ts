import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AssetFacts, AssetListing, AssetStore } from '../../src/store/asset-store.ts';
import { createPool, migrate, PG_MIGRATIONS } from '../../src/store/postgres/database.ts';
import { MIGRATIONS } from '../../src/store/sqlite/db.ts';
import { storeBackends, type FreshStore, type StoreBackend } from '../helpers/store-backends.ts';

const SOURCE = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbb';

function facts(overrides: Partial<AssetFacts> = {}): AssetFacts {
  return { mediaKind: 'IMAGE', mediaWidth: 40, mediaHeight: 30, fileSize: 1000, contentType: 'image/jpeg', contentHash: 'h1', ...overrides };
}

/** Every page of a listing, following the keyset the way the API's cursor does. */
async function allPages(store: AssetStore, listing: Omit<AssetListing, 'after'>): Promise<string[][]> {
  const pages: string[][] = [];
  let after: AssetListing['after'];
  for (;;) {
    const rows = await store.list({ ...listing, after });
    if (rows.length === 0) return pages;
    pages.push(rows.map((row) => row.originPath));
    const last = rows.at(-1)!;
    const field = listing.sort.field;
    const value = field === 'date_created' ? last.dateCreated : field === 'date_modified' ? last.dateModified : field === 'file_size' ? last.fileSize : last.originPath;
    after = { value, originPath: last.originPath };
  }
}

/** The contract both implementations keep; `open` gives a store on an empty database. */
function assetStoreContract(open: () => Promise<AssetStore>): void {
  it('indexes an asset once, keeps what people wrote, and moves date_modified only when the bytes change', async () => {
    const store = await open();
    assert.equal(await store.get(SOURCE, '/a.jpg'), undefined);
    const created = await store.index(SOURCE, '/a.jpg', facts(), 1000);
    assert.deepEqual(created, {
      sourceId: SOURCE,
      originPath: '/a.jpg',
      name: null,
      description: null,
      ...facts(),
      tags: [],
      categories: [],
      customFields: {},
      videoStatus: null,
      dateCreated: 1000,
      dateModified: 1000,
    });
    const edited = await store.edit(SOURCE, '/a.jpg', { name: 'A', tags: ['red', 'sky'], customFields: { shot: 3, by: 'Ann', ok: true } }, 2000);
    assert.equal(edited?.name, 'A');
    assert.equal(edited?.description, null, 'a field left out is kept');
    assert.deepEqual(edited?.customFields, { shot: 3, by: 'Ann', ok: true });
    assert.equal(edited?.dateModified, 2000);

    const again = await store.index(SOURCE, '/a.jpg', facts(), 3000);
    assert.equal(again.dateModified, 2000, 'the same bytes served again change nothing');
    const replaced = await store.index(SOURCE, '/a.jpg', facts({ contentHash: 'h2', fileSize: 2000, mediaWidth: 80 }), 4000);
    assert.equal(replaced.dateModified, 4000);
    assert.equal(replaced.dateCreated, 1000);
    assert.equal(replaced.fileSize, 2000);
    assert.equal(replaced.mediaWidth, 80);
    assert.equal(replaced.name, 'A', 'what people wrote is kept');
    assert.deepEqual(replaced.tags, ['red', 'sky']);
    assert.deepEqual(await store.get(SOURCE, '/a.jpg'), replaced);
    assert.equal(await store.get(OTHER, '/a.jpg'), undefined, 'assets are per Source');
  });

  it('edits: null clears, an unknown asset is undefined', async () => {
    const store = await open();
    await store.index(SOURCE, '/a.jpg', facts(), 1000);
    await store.edit(SOURCE, '/a.jpg', { name: 'A', description: 'D', categories: ['x'] }, 1500);
    const cleared = await store.edit(SOURCE, '/a.jpg', { name: null, categories: [] }, 2000);
    assert.equal(cleared?.name, null);
    assert.equal(cleared?.description, 'D');
    assert.deepEqual(cleared?.categories, []);
    assert.equal(await store.edit(SOURCE, '/nope.jpg', { name: 'x' }, 2000), undefined);
  });

  it('video status, and removal', async () => {
    const store = await open();
    await store.index(SOURCE, '/clip.mp4', facts({ mediaKind: 'VIDEO', contentType: 'video/mp4', mediaWidth: null, mediaHeight: null }), 1000);
    assert.equal(await store.setVideoStatus(SOURCE, '/clip.mp4', 'processing'), true);
    assert.equal((await store.get(SOURCE, '/clip.mp4'))?.videoStatus, 'processing');
    assert.equal(await store.setVideoStatus(SOURCE, '/clip.mp4', null), true);
    assert.equal((await store.get(SOURCE, '/clip.mp4'))?.videoStatus, null);
    assert.equal(await store.setVideoStatus(SOURCE, '/nope.mp4', 'processed'), false);
    assert.equal(await store.remove(SOURCE, '/clip.mp4'), true);
    assert.equal(await store.remove(SOURCE, '/clip.mp4'), false);
    assert.equal(await store.get(SOURCE, '/clip.mp4'), undefined);
  });

  it('pages by keyset in every sort order, ties by path, without repeats or gaps', async () => {
    const store = await open();
    // Three share a creation time and two a size: ties are ordered by path, in the sort's direction.
    const assets: [string, number, number][] = [
      ['/b.jpg', 100, 30],
      ['/a.jpg', 100, 10],
      ['/c/d.png', 100, 20],
      ['/c/e%20f.jpg', 200, 20],
      ['/z.mp4', 50, 500],
    ];
    for (const [originPath, at, size] of assets) await store.index(SOURCE, originPath, facts({ fileSize: size, contentHash: originPath }), at);
    await store.index(OTHER, '/a.jpg', facts(), 1);

    const page = (field: AssetListing['sort']['field'], descending: boolean, limit = 2) => allPages(store, { sourceId: SOURCE, sort: { field, descending }, limit });
    assert.deepEqual(await page('date_created', false), [['/z.mp4', '/a.jpg'], ['/b.jpg', '/c/d.png'], ['/c/e%20f.jpg']]);
    assert.deepEqual(await page('date_created', true), [['/c/e%20f.jpg', '/c/d.png'], ['/b.jpg', '/a.jpg'], ['/z.mp4']]);
    assert.deepEqual(await page('file_size', false, 3), [['/a.jpg', '/c/d.png', '/c/e%20f.jpg'], ['/b.jpg', '/z.mp4']]);
    assert.deepEqual(await page('file_size', true, 3), [['/z.mp4', '/b.jpg', '/c/e%20f.jpg'], ['/c/d.png', '/a.jpg']]);
    assert.deepEqual(await page('origin_path', false, 4), [['/a.jpg', '/b.jpg', '/c/d.png', '/c/e%20f.jpg'], ['/z.mp4']]);
    assert.deepEqual(await page('origin_path', true, 10), [['/z.mp4', '/c/e%20f.jpg', '/c/d.png', '/b.jpg', '/a.jpg']]);

    await store.edit(SOURCE, '/a.jpg', { name: 'later' }, 900);
    assert.deepEqual((await page('date_modified', true, 10))[0]!.slice(0, 2), ['/a.jpg', '/c/e%20f.jpg']);
  });

  it('filters by exact path, by folder and by media kind', async () => {
    const store = await open();
    for (const originPath of ['/c', '/c/d.png', '/c/sub/e.jpg', '/c0.jpg', '/c-d.jpg', '/cat.jpg']) await store.index(SOURCE, originPath, facts(), 1);
    await store.index(SOURCE, '/c/clip.mp4', facts({ mediaKind: 'VIDEO' }), 1);
    const sort = { field: 'origin_path' as const, descending: false };
    const list = async (extra: Partial<AssetListing>) => (await store.list({ sourceId: SOURCE, sort, limit: 100, ...extra })).map((row) => row.originPath);
    assert.deepEqual(await list({ originPath: { exact: '/c/d.png' } }), ['/c/d.png']);
    assert.deepEqual(await list({ originPath: { prefix: '/c/' } }), ['/c/clip.mp4', '/c/d.png', '/c/sub/e.jpg']);
    assert.deepEqual(await list({ originPath: { prefix: '/c/' }, mediaKind: 'IMAGE' }), ['/c/d.png', '/c/sub/e.jpg']);
    assert.deepEqual(await list({ mediaKind: 'VIDEO' }), ['/c/clip.mp4']);
    assert.deepEqual(await list({ mediaKind: 'OTHER' }), []);
  });

  it('finds the assets carrying a tag, exactly as written, in one Source or in every Source, as the tags change', async () => {
    const store = await open();
    for (const originPath of ['/a.jpg', '/b.jpg', '/c.jpg']) await store.index(SOURCE, originPath, facts(), 1);
    await store.index(OTHER, '/a.jpg', facts(), 1);
    await store.edit(SOURCE, '/b.jpg', { tags: ['sale', 'Sale '] }, 2);
    await store.edit(SOURCE, '/a.jpg', { tags: ['sale'] }, 2);
    await store.edit(OTHER, '/a.jpg', { tags: ['spring', 'sale'] }, 2);
    await store.edit(SOURCE, '/c.jpg', { tags: ['sales', 'SALE'] }, 2);
    const keys = async (tag: string, sourceId?: string, limit = 10) =>
      (await store.tagged(tag, sourceId, limit)).map((key) => `${key.sourceId === SOURCE ? 'S' : 'O'}${key.originPath}`);
    assert.deepEqual(await keys('sale'), ['S/a.jpg', 'S/b.jpg', 'O/a.jpg'], 'every Source, by Source then path');
    assert.deepEqual(await keys('sale', SOURCE), ['S/a.jpg', 'S/b.jpg']);
    assert.deepEqual(await keys('sale', OTHER), ['O/a.jpg']);
    assert.deepEqual(await keys('sale', undefined, 2), ['S/a.jpg', 'S/b.jpg'], 'at most the limit');
    assert.deepEqual(await keys('Sale '), ['S/b.jpg'], 'case and spaces count');
    assert.deepEqual(await keys('SALE'), ['S/c.jpg']);
    assert.deepEqual(await keys('sal'), [], 'no partial match');

    await store.edit(SOURCE, '/a.jpg', { name: 'kept' }, 3);
    await store.index(SOURCE, '/a.jpg', facts({ contentHash: 'h2' }), 4);
    assert.deepEqual(await keys('sale', SOURCE), ['S/a.jpg', 'S/b.jpg'], 'edits of other fields and new bytes keep the tags');
    await store.edit(SOURCE, '/a.jpg', { tags: ['winter'] }, 5);
    assert.deepEqual(await keys('sale', SOURCE), ['S/b.jpg'], 'a tag taken off');
    assert.deepEqual(await keys('winter'), ['S/a.jpg']);
    assert.equal(await store.remove(SOURCE, '/b.jpg'), true);
    assert.deepEqual(await keys('sale'), ['O/a.jpg'], 'a removed asset');
    assert.deepEqual(await keys('Sale '), []);
    await store.index(SOURCE, '/b.jpg', facts(), 6);
    assert.deepEqual(await keys('sale', SOURCE), [], 'an asset indexed again starts without tags, as its row does');
    await store.edit(SOURCE, '/c.jpg', { tags: [] }, 7);
    assert.deepEqual(await keys('SALE'), []);
  });
}

const BACKENDS = storeBackends('assets');
for (const backend of BACKENDS) {
  describe(`AssetStore on ${backend.name}`, () => {
    assetStoreContract(async () => (await (await backend.fresh()).open()).assets);
    it('indexes the tags assets had before the tag index existed', async () => {
      const fresh = await backend.fresh();
      await migrateUpTo(backend, fresh, 'CREATE TABLE asset_tags');
      const insert = `INSERT INTO assets (source_id, origin_path, media_kind, file_size, content_type, content_hash, tags, date_created, date_modified)
        VALUES ('${SOURCE}', '/old.jpg', 'IMAGE', 1, 'image/jpeg', 'h', '["old","Both"]', 1, 1), ('${OTHER}', '/x.jpg', 'IMAGE', 1, 'image/jpeg', 'h', '["Both"]', 1, 1)`;
      await fresh.sql(insert);
      const store = (await fresh.open()).assets;
      assert.deepEqual(await store.tagged('old', undefined, 10), [{ sourceId: SOURCE, originPath: '/old.jpg' }]);
      assert.deepEqual(await store.tagged('Both', undefined, 10), [
        { sourceId: SOURCE, originPath: '/old.jpg' },
        { sourceId: OTHER, originPath: '/x.jpg' },
      ]);
    });
  });
}

/** Migrates a new store up to (not including) the step containing `marker`, as an older version left it. */
async function migrateUpTo(backend: StoreBackend, fresh: FreshStore, marker: string): Promise<void> {
  const migrations = backend.name === 'SQLite' ? MIGRATIONS : PG_MIGRATIONS;
  const step = migrations.findIndex((migration) => migration.includes(marker));
  assert.ok(step > 0);
  if (backend.name === 'SQLite') {
    const db = new Database(path.join(fresh.dataDir, 'pictor.db'));
    for (const migration of MIGRATIONS.slice(0, step)) db.exec(migration);
    db.pragma(`user_version = ${step}`);
    db.close();
    return;
  }
  const pool = createPool({ url: fresh.databaseUrl! });
  try {
    await migrate(pool, PG_MIGRATIONS.slice(0, step));
  } finally {
    await pool.end();
  }
}
