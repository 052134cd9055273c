import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import Database from 'better-sqlite3';
import { compareSourceNames, DEFAULT_DEPLOYMENT, type SourceRecord } from '../../src/store/source-record.ts';
import { SourceService } from '../../src/sources/source-service.ts';
import { MIGRATIONS } from '../../src/store/sqlite/db.ts';
import type { SourceStore } from '../../src/store/stores.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const [SQLITE, POSTGRES] = storeBackends('source-store');

let sequence = 0;
function record(name: string, deployment: Partial<SourceRecord['deployment']> = {}, dateDeployed = 1_700_000_000): SourceRecord {
  return {
    id: (++sequence).toString(16).padStart(24, '0'),
    name,
    enabled: true,
    secureUrlToken: undefined,
    dateDeployed,
    deployment: { ...DEFAULT_DEPLOYMENT, type: 'webproxy', ...deployment },
  };
}


/** The names in the order the old listing gave: a stable sort of creation order by the name collation. */
function expectedByName(names: string[], descending = false): string[] {
  return [...names].sort((a, b) => (descending ? -1 : 1) * compareSourceNames(a, b));
}


/** Rows of a statement run on a PostgreSQL store's database behind the stores' back (the last statement's). */
async function pgRows(databaseUrl: string, statement: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return [await client.query(statement)].flat().at(-1)?.rows ?? [];
  } finally {
    await client.end();
  }
}

for (const backend of [SQLITE, POSTGRES]) {
  const open = async (): Promise<SourceStore> => (await (await backend.fresh()).open()).sources;

  describe(`SourceStore on ${backend.name}: name order`, () => {
    it('sorts pages by the name collation (case, accents, numbers by value), ties in creation order, in both directions', async () => {
      // Inserted in an order unlike the sorted one; some names collate equal ("alpha", "Alpha", "ÁLPHA").
      const names = ['Source 10', 'beta', 'alpha', 'Source 9', '~tilde', 'Zeta', 'Alpha', 'source 10', '_under', 'Éclair', 'eclair 2', '10 lives', 'ÁLPHA', '2 lives', 'ørsted', 'Ωmega', 'b'];
      const store = await open();
      for (const name of names) await store.upsert(record(name));
      const sorted = async (descending: boolean, page?: { offset: number; limit: number }) =>
        (await store.list({ filters: [], sort: [{ field: 'name', descending }], page })).records.map((source) => source.name);
      assert.deepEqual(await sorted(false), expectedByName(names));
      assert.deepEqual(await sorted(true), expectedByName(names, true));
      const ascending = await sorted(false);
      assert.ok(ascending.indexOf('2 lives') < ascending.indexOf('10 lives') && ascending.indexOf('Source 9') < ascending.indexOf('source 10'), 'numbers by value');
      assert.deepEqual(await sorted(false, { offset: 5, limit: 4 }), expectedByName(names).slice(5, 9));
      assert.deepEqual(
        expectedByName(names).filter((name) => compareSourceNames(name, 'alpha') === 0),
        ['alpha', 'Alpha', 'ÁLPHA'],
        'equal names keep creation order',
      );
    });

    it('keeps the order when many names arrive between the same two neighbours, and on renames', async () => {
      const store = await open();
      const names = ['a', 'b'];
      for (const name of names) await store.upsert(record(name));
      // Each name lands just below "b" and above the one before: the space between neighbours runs out and
      // the ranks are handed out afresh along the way.
      for (let i = 1; i <= 80; i++) {
        names.push(`a${i}`);
        await store.upsert(record(`a${i}`));
      }
      const listed = async () => (await store.list({ filters: [], sort: [{ field: 'name', descending: false }] })).records;
      assert.deepEqual((await listed()).map((source) => source.name), expectedByName(names));

      const renamed = (await listed()).find((source) => source.name === 'a40')!;
      await store.upsert({ ...renamed, name: 'c' });
      names[names.indexOf('a40')] = 'c';
      assert.deepEqual((await listed()).map((source) => source.name), expectedByName(names));
      assert.equal((await listed()).at(-1)!.id, renamed.id);
    });
  });

  describe(`SourceStore on ${backend.name}: listing`, () => {
    it('pages in creation order by default and counts every match', async () => {
      const store = await open();
      const created = Array.from({ length: 30 }, (_, i) => record(`n${i}`, {}, 1_700_000_000 + (i % 3)));
      for (const source of created) await store.upsert(source);
      const byCreation = [...created].sort((a, b) => a.dateDeployed - b.dateDeployed);
      const page = await store.list({ filters: [], sort: [], page: { offset: 10, limit: 7 } });
      assert.equal(page.total, 30);
      assert.deepEqual(page.records.map((source) => source.id), byCreation.slice(10, 17).map((source) => source.id));
      const huge = await store.list({ filters: [], sort: [], page: { offset: Number.MAX_SAFE_INTEGER, limit: 100 } });
      assert.deepEqual(huge, { records: [], total: 30 });
    });
  });
}

/** A data directory as Pictor left it before `source_domains` existed, with Sources written the way it wrote them. */
function oldDatabase(dataDir: string, sources: SourceRecord[]): void {
  const before = MIGRATIONS.findIndex((migration) => migration.includes('CREATE TABLE source_domains'));
  assert.ok(before > 0);
  const db = new Database(path.join(dataDir, 'pictor.db'));
  for (const migration of MIGRATIONS.slice(0, before)) db.exec(migration);
  db.pragma(`user_version = ${before}`);
  const insert = db.prepare(
    `INSERT INTO sources (id, name, type, enabled, deployment, secure_url_token, date_deployed, created_at)
     VALUES (?, ?, ?, 1, ?, NULL, ?, ?)`,
  );
  for (const source of sources) insert.run(source.id, source.name, source.deployment.type, JSON.stringify(source.deployment), source.dateDeployed, source.dateDeployed);
  db.close();
}

describe('SourceStore on SQLite: upgrading a database with Sources', () => {
  it('backfills domains and name order; old overlaps are kept, new clashes refused naming the first owner', async () => {
    const shop = record('Shop', { custom_domains: ['shop.example.org', 'cdn.example.org'], imgix_subdomains: ['shop'] });
    const blog = record('blog 10', { custom_domains: ['blog.images.example.com'] });
    // An overlap from before the check existed: both hold cdn.example.org.
    const late = record('blog 9', { custom_domains: ['cdn.example.org'] }, 1_700_000_100);
    const fresh = await SQLITE.fresh();
    oldDatabase(fresh.dataDir, [shop, blog, late]);
    const service = new SourceService((await fresh.open()).sources, { baseDomain: 'images.example.com', folderRoots: [fresh.dataDir] });
    const names = async (query: Parameters<SourceService['list']>[0]) => (await service.list(query)).records.map((source) => source.name);
    assert.deepEqual(await names({ sort: [{ field: 'name', descending: false }] }), ['blog 9', 'blog 10', 'Shop']);
    assert.deepEqual(await names({ filters: [{ field: 'deployment.custom_domains', value: 'CDN.example.org' }] }), ['Shop', 'blog 9']);
    assert.deepEqual(await names({ filters: [{ field: 'deployment.imgix_subdomains', value: 'SHOP' }] }), ['Shop']);

    const create = (deployment: Record<string, unknown>) => () => service.create({ name: 'new', deployment: { type: 'webproxy', ...deployment } });
    await assert.rejects(create({ custom_domains: ['cdn.example.org'] }), new RegExp(`"cdn.example.org" is already a domain of the Source "Shop" \\(${shop.id}\\)`));
    await assert.rejects(create({ custom_domains: ['shop.images.example.com'] }), /"shop.images.example.com" is already a domain of the Source "Shop"/);
    await assert.rejects(create({ imgix_subdomains: ['shop'] }), /"shop" \(shop.images.example.com\) is already a domain of the Source "Shop"/);
    await assert.rejects(create({ imgix_subdomains: ['blog'] }), /"blog" \(blog.images.example.com\) is already a domain of the Source "blog 10"/);
    const renamed = await service.update(late.id, { name: 'late' });
    assert.equal(renamed.name, 'late', 'an old overlap does not block an unrelated edit');
    assert.deepEqual(await names({ sort: [{ field: 'name', descending: true }] }), ['Shop', 'late', 'blog 10']);

    // Once the first owner lets the domain go, the other one still holds it.
    await service.update(shop.id, { deployment: { custom_domains: ['shop.example.org'] } });
    await assert.rejects(create({ custom_domains: ['cdn.example.org'] }), /Source "late"/);
  });
});

describe('SourceStore on PostgreSQL: name order in SQL', () => {
  it('PostgreSQL itself orders names as compareSourceNames does (the source_names collation), ties left to creation order', async () => {
    const fresh = await POSTGRES.fresh();
    const store = (await fresh.open()).sources;
    const names = ['Source 10', 'beta', 'alpha', 'Source 9', '~tilde', 'Zeta', 'Alpha', '_under', 'Éclair', 'eclair 2', '10 lives', 'ÁLPHA', '2 lives', 'ørsted', 'Ωmega'];
    for (const name of names) await store.upsert(record(name));
    const rows = await pgRows(fresh.databaseUrl!, 'SELECT name FROM sources ORDER BY name COLLATE source_names, created_at, created_seq');
    assert.deepEqual(rows.map((row) => row.name).filter((name) => name !== 'Default'), expectedByName(names));
  });
});
