import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import Database from 'better-sqlite3';
import type { PurgeLog, PurgeRecord } from '../../src/store/purge-log.ts';
import type { OutboxEvent } from '../../src/store/webhook-store.ts';
import { MIGRATIONS } from '../../src/store/sqlite/db.ts';
import { containsPattern, UrlSearch } from '../../src/store/postgres/url-search.ts';
import { eventually } from '../helpers/pictor.ts';
import { storeBackends } from '../helpers/store-backends.ts';
import { pendingPurge } from '../helpers/purge-records.ts';

const SOURCE = 'a'.repeat(24);
const DAY = 24 * 3600 * 1000;
const CLAIM = { coordinator: 'node-a', claimMs: 60_000 };

const purge = (pathName: string, fields: Partial<PurgeRecord> = {}): PurgeRecord => pendingPurge(SOURCE, pathName, fields);

const scope = (pathName: string): string => `A:${SOURCE}:${pathName}`;

/** Appends a purge of `pathName` marking its asset's scope; resolves with the purge and its number. */
async function append(log: PurgeLog, pathName: string, fields: Partial<PurgeRecord> = {}, claim = CLAIM): Promise<PurgeRecord & { seq: number }> {
  const record = purge(pathName, fields);
  return { ...record, seq: await log.append(record, [scope(pathName)], claim) };
}

const [SQLITE, POSTGRES] = storeBackends('purge-log');


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
  const open = async (): Promise<PurgeLog> => (await (await backend.fresh()).open()).purgeLog;

  describe(`PurgeLog on ${backend.name}`, () => {
    it('numbers purges in order as they are logged, with the marks of their scopes; a restart starts from them', async () => {
      const fresh = await backend.fresh();
      const log = (await fresh.open()).purgeLog;
      const first = await append(log, '/a.jpg');
      const prefix = purge('/dir/', { match: 'prefix' });
      const second = await log.append(prefix, [`P:${SOURCE}:/dir/`], CLAIM);
      const third = await append(log, '/a.jpg');
      assert.deepEqual([second - first.seq, third.seq - second], [1, 1]);
      const restarted = await (await fresh.open()).purgeLog.snapshot();
      assert.deepEqual(
        { ...restarted, marks: [...restarted.marks].sort() },
        { seq: third.seq, marks: [[scope('/a.jpg'), third.seq], [`P:${SOURCE}:/dir/`, second]], floor: 0 },
      );
    });

    it('purges logged at once are each numbered once, with no gaps', async () => {
      const log = await open();
      const seqs = (await Promise.all(Array.from({ length: 40 }, (_, i) => append(log, `/burst/${i}.jpg`)))).map((logged) => logged.seq);
      const sorted = [...seqs].sort((a, b) => a - b);
      assert.deepEqual(sorted, Array.from({ length: 40 }, (_, i) => sorted[0]! + i));
      assert.equal((await log.snapshot()).seq, sorted.at(-1));
    });

    it('get: the purge as logged, with its number and scopes; unknown and malformed ids are undefined', async () => {
      const log = await open();
      const logged = await append(log, '/a.jpg', { matched: 3, subImage: true, parentSourceId: 'b'.repeat(24) });
      const unset = { originError: undefined, report: undefined, tag: undefined, assets: undefined };
      assert.deepEqual(await log.get(logged.id), { ...logged, generation: logged.seq, scopes: [scope('/a.jpg')], ...unset });
      assert.equal(await log.get(randomUUID()), undefined);
      assert.equal(await log.get('not-a-purge'), undefined);
    });

    it('a tag purge: logged with its tag, its asset count and a mark per asset; claimed whole; listed without its scopes', async () => {
      const log = await open();
      const paths = Array.from({ length: 2000 }, (_, i) => `/tagged/${i}.jpg`);
      const record = purge('', { url: '', sourceId: '', match: 'tag', tag: 'Product 123', assets: paths.length, matched: 7 });
      const seq = await log.append(record, paths.map(scope), { coordinator: 'gone', claimMs: -1000 });
      const read = await log.get(record.id);
      assert.deepEqual([read?.match, read?.tag, read?.assets, read?.matched, read?.sourceId, read?.url], ['tag', 'Product 123', 2000, 7, '', '']);
      assert.deepEqual(read?.scopes, paths.map(scope));
      const marks = new Map((await log.snapshot()).marks);
      assert.ok(paths.every((each) => marks.get(scope(each)) === seq), 'every asset marked in the one append');
      assert.deepEqual((await log.claimStale(CLAIM, 10))[0]?.scopes.length, 2000);
      const [listed] = (await log.list({ limit: 10, offset: 0 })).records;
      assert.deepEqual([listed?.id, listed?.tag, listed?.assets], [record.id, 'Product 123', 2000]);
      assert.equal((listed as { scopes?: unknown }).scopes ?? undefined, undefined, 'a listing does not carry the scopes');
    });

    it('complete: the first completion counts, with its verdict, the reason it is unknown, and where it took effect', async () => {
      const log = await open();
      const logged = await append(log, '/a.jpg', { matched: 2 });
      const report = { nodes: { applied: ['node-a'], fenced: [] }, edges: { purged: ['edge-1'], out_of_rotation: [] } };
      const verdict = { origin: 'unknown' as const, originError: 'The origin did not answer.' };
      const completed: PurgeRecord = { ...logged, ...verdict, status: 'completed', report, completedAt: logged.createdAt + 5 };
      await log.complete(completed);
      await log.complete({ ...completed, origin: 'replaced', originError: undefined, completedAt: logged.createdAt + 9 });
      const read = await log.get(logged.id);
      assert.deepEqual(
        [read?.status, read?.origin, read?.originError, read?.report, read?.completedAt, read?.matched],
        ['completed', 'unknown', 'The origin did not answer.', report, logged.createdAt + 5, 2],
      );
    });

    it("complete writes the events of a purge's first completion with it, for the webhooks subscribed to them, and none for a later one", async () => {
      const stores = await (await backend.fresh()).open();
      const log = stores.purgeLog;
      const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      const subscribed = await stores.webhooks.add({ id: 'wh_completed', url: 'https://hooks.example/a', events: ['purge.completed'], secret, createdAt: 1 });
      const other = await stores.webhooks.add({ id: 'wh_takedowns', url: 'https://hooks.example/b', events: ['takedown.created'], secret, createdAt: 2 });
      const outbox = (record: PurgeRecord): OutboxEvent[] => [{ id: `msg_${record.id}_${record.completedAt}`, type: 'purge.completed', body: JSON.stringify({ id: record.id }), createdAt: record.completedAt ?? 0 }];
      const [a, b] = await Promise.all([append(log, '/a.jpg'), append(log, '/b.jpg')]);
      const done = (record: PurgeRecord, at: number): PurgeRecord => ({ ...record, status: 'completed', completedAt: at });
      // Written at once (one batch where the store batches them): `a` twice, then again later.
      await Promise.all([log.complete(done(a, 10), outbox), log.complete(done(a, 11), outbox), log.complete(done(b, 12), outbox)]);
      await log.complete(done(a, 13), outbox);
      const events = (await stores.webhooks.deliveries(subscribed.id, 10)).map((delivery) => delivery.eventId).sort();
      assert.deepEqual(events, [`msg_${a.id}_10`, `msg_${b.id}_12`].sort());
      assert.deepEqual(await stores.webhooks.deliveries(other.id, 10), []);
    });

    it('depth: the head, how many purges are pending and since when the oldest of them waits', async () => {
      const log = await open();
      assert.deepEqual(await log.depth(), { head: 0, pending: 0, oldestPendingAt: undefined });
      const first = await append(log, '/a.jpg', { createdAt: 1_000 });
      await append(log, '/b.jpg', { createdAt: 2_000 });
      const third = await append(log, '/c.jpg', { createdAt: 3_000 });
      await log.complete({ ...first, status: 'completed', completedAt: 4_000 });
      assert.deepEqual(await log.depth(), { head: third.seq, pending: 2, oldestPendingAt: 2_000 });
    });

    it('list: newest first, by status, by URL text (case-insensitive, % and _ literal), paged, with the total', async () => {
      const log = await open();
      const logged: (PurgeRecord & { seq: number })[] = [];
      for (const [i, url] of ['http://a/image%20file.jpg', 'http://a/image_file.jpg', 'http://a/imageXfile.jpg'].entries()) {
        logged.push(await append(log, `/${i}.jpg`, { url, createdAt: 1000 + i }));
      }
      await log.complete({ ...logged[2]!, status: 'completed', completedAt: 2000 });
      const ids = async (query: Parameters<PurgeLog['list']>[0]) => (await log.list(query)).records.map((record) => logged.findIndex((each) => each.id === record.id));
      assert.deepEqual(await ids({ limit: 10, offset: 0 }), [2, 1, 0]);
      assert.deepEqual(await ids({ status: 'pending', limit: 10, offset: 0 }), [1, 0]);
      assert.deepEqual(await ids({ urlContains: '%20', limit: 10, offset: 0 }), [0]);
      assert.deepEqual(await ids({ urlContains: 'image_', limit: 10, offset: 0 }), [1]);
      assert.deepEqual(await ids({ urlContains: 'IMAGE', limit: 10, offset: 0 }), [2, 1, 0]);
      const page = await log.list({ limit: 2, offset: 2 });
      assert.deepEqual([page.records.map((record) => record.id), page.total], [[logged[0]!.id], 3]);
      assert.equal((await log.list({ status: 'failed', limit: 2, offset: 0 })).total, 0);
    });

    it('search: finds purges before and after the index catches up', async () => {
      const log = await open();
      const urls = ['https://img.example/Dogs/Rex.JPG', 'https://img.example/cats/tom_1.png', 'https://other.example/dogs/fido.jpg'];
      for (const [i, url] of urls.entries()) await append(log, `/${i}.jpg`, { url, createdAt: 1000 + i });
      const ids = async (text: string) => (await log.list({ urlContains: text, limit: 10, offset: 0 })).records.map((record) => record.url);
      assert.deepEqual(await ids('dogs/'), [urls[2], urls[0]]);
      for (let added = await log.indexForSearch(2); added > 0; added = await log.indexForSearch(2));
      assert.equal(await log.indexForSearch(2), 0, 'caught up');
      assert.deepEqual(await ids('dogs/'), [urls[2], urls[0]]);
      assert.deepEqual(await ids('TOM_'), [urls[1]]);
    });

    it('claims: a pending purge past its claim is claimed by one caller, not again while that claim lasts; completed ones never', async () => {
      const log = await open();
      const expired = await append(log, '/stale.jpg', {}, { coordinator: 'gone', claimMs: -1000 });
      const held = await append(log, '/held.jpg');
      const done = await append(log, '/done.jpg', {}, { coordinator: 'gone', claimMs: -1000 });
      await log.complete({ ...done, status: 'completed', completedAt: Date.now() });
      const claimed = await log.claimStale({ coordinator: 'node-b', claimMs: 60_000 }, 10);
      assert.deepEqual(claimed.map((each) => [each.id, each.seq, each.scopes]), [[expired.id, expired.seq, [scope('/stale.jpg')]]]);
      assert.deepEqual(await log.claimStale({ coordinator: 'node-c', claimMs: 60_000 }, 10), [], 'claimed already');
      assert.ok(held.seq > expired.seq);
    });

    it('retention: the floor rises to the newest purge completed before the cutoff; marks up to it and ended purges go, pending ones never', async () => {
      const fresh = await backend.fresh();
      const log = (await fresh.open()).purgeLog;
      const now = Date.now();
      const old = await append(log, '/old.jpg', { createdAt: now - 10 * DAY });
      const older = await append(log, '/older.jpg', { createdAt: now - 9 * DAY });
      const recent = await append(log, '/recent.jpg', { createdAt: now - DAY });
      const stuck = await append(log, '/stuck.jpg', { createdAt: now - 20 * DAY });
      await log.complete({ ...old, status: 'completed', completedAt: now - 10 * DAY });
      await log.complete({ ...older, status: 'completed', completedAt: now - 8 * DAY });
      await log.complete({ ...recent, status: 'completed', completedAt: now - DAY });
      const cutoff = now - 7 * DAY;
      assert.equal(await log.raiseFloor(cutoff), older.seq);
      assert.equal(await log.raiseFloor(now - 30 * DAY), older.seq, 'the floor never falls');
      assert.equal(await log.deleteMarksUpTo(older.seq, 1), 1, 'a batch at a time');
      assert.equal(await log.deleteMarksUpTo(older.seq, 10), 1);
      assert.equal(await log.deleteEndedBefore(cutoff, 10), 2);
      assert.deepEqual(
        await Promise.all([old, older, recent, stuck].map(async (each) => (await log.get(each.id)) !== undefined)),
        [false, false, true, true],
        'a pending purge is never deleted, whatever its age',
      );
      const snapshot = await (await fresh.open()).purgeLog.snapshot();
      const marks = [[scope('/recent.jpg'), recent.seq], [scope('/stuck.jpg'), stuck.seq]].sort();
      assert.deepEqual({ ...snapshot, marks: [...snapshot.marks].sort() }, { seq: stuck.seq, marks, floor: older.seq });
    });

    it('numbers above every purge ever logged, even once retention has deleted every purge and mark', async () => {
      const fresh = await backend.fresh();
      const log = (await fresh.open()).purgeLog;
      const logged = await append(log, '/a.jpg', { createdAt: 0 });
      await log.complete({ ...logged, status: 'completed', completedAt: 1 });
      const floor = await log.raiseFloor(Date.now());
      await log.deleteMarksUpTo(floor, 10);
      await log.deleteEndedBefore(Date.now(), 10);
      const restarted = (await fresh.open()).purgeLog;
      assert.deepEqual(await restarted.snapshot(), { seq: logged.seq, marks: [], floor: logged.seq });
      assert.ok((await append(restarted, '/b.jpg')).seq > logged.seq);
    });
  });
}

describe('PurgeLog on PostgreSQL: shared by the nodes of a cluster', () => {
  it('is shared: another node hears of appends and reads them after a number, in order', async () => {
    const fresh = await POSTGRES.fresh();
    const [mine, theirs] = [(await fresh.open()).purgeLog, (await fresh.open()).purgeLog];
    assert.ok(mine.shared && theirs.shared);
    assert.equal(await mine.shared.id(), await theirs.shared.id(), 'one log, one id');
    let appended = 0;
    const listening = await theirs.shared.listen({ appended: () => appended++, acknowledged: () => {}, reconnected: () => {}, error: () => {} });
    try {
      const first = await append(mine, '/a.jpg');
      const second = await append(mine, '/b.jpg');
      await eventually(() => appended > 0);
      assert.deepEqual(
        (await theirs.shared.after(first.seq - 1, 10)).map((entry) => [entry.seq, entry.id, entry.scopes, entry.match, entry.sourceId, entry.path]),
        [first, second].map((each) => [each.seq, each.id, [scope(each.path)], 'exact', SOURCE, each.path]),
      );
      assert.deepEqual(await theirs.shared.after(second.seq, 10), []);
    } finally {
      await listening.close();
    }
  });
});

describe('PurgeLog on PostgreSQL: the Purges search', () => {
  it('finds URLs containing a text through the pg_trgm index of URLs, not by reading every row', async () => {
    const fresh = await POSTGRES.fresh();
    const log = (await fresh.open()).purgeLog;
    for (let i = 0; i < 30; i++) await append(log, `/photos/photo-${i}.jpg`);
    const found = await log.list({ urlContains: 'PHOTO-17.JPG', limit: 10, offset: 0 });
    assert.deepEqual(found.records.map((record) => record.path), ['/photos/photo-17.jpg']);
    // The plan with sequential scans ruled out: without a usable index on url, PostgreSQL still has to scan.
    const plan = await pgRows(fresh.databaseUrl!, `SET enable_seqscan = off; EXPLAIN SELECT * FROM purge_log WHERE url ILIKE '%photo-17.jpg%'`);
    assert.match(plan.map((row) => String(row['QUERY PLAN'])).join('\n'), /Bitmap Index Scan on purge_log_url/);
  });
});

/** The URL of the i-th purge `fillLog` writes: like a real log's, they share most of their trigrams. */
const filledUrl = (i: number): string => `https://images.example.com/photos/${i % 97}/photo-${i}.jpg`;

/** Writes `count` completed purges in SQL (the newest last), then VACUUM ANALYZE: the index merged, the sample taken. */
async function fillLog(databaseUrl: string, count: number): Promise<void> {
  await pgRows(
    databaseUrl,
    `INSERT INTO purge_log (id, url, source_id, path, match, scopes, status, matched, created_at, completed_at)
     SELECT gen_random_uuid(), 'https://images.example.com/photos/' || (i % 97) || '/photo-' || i || '.jpg', 'src', '/p', 'exact',
            ARRAY['a:src/p'], 'completed', 1, 1700000000000 + i, 1700000000000 + i
     FROM generate_series(0, ${count - 1}) AS i`,
  );
  await pgRows(databaseUrl, 'VACUUM ANALYZE purge_log');
}

describe('PurgeLog on PostgreSQL: the Purges search in a large log', () => {
  it('finds exactly what ILIKE on the whole text finds, whichever piece of the text the index is asked for', async () => {
    const fresh = await POSTGRES.fresh();
    const log = (await fresh.open()).purgeLog;
    const count = 5_000;
    await fillLog(fresh.databaseUrl!, count);
    const newestFirst = Array.from({ length: count }, (_, i) => filledUrl(count - 1 - i));
    const texts = ['photo-1234.jpg', 'PHOTOS/17/PHOTO-', '/3/photo-3', 'photo-99999.jpg', '.jpg', 'photo', 's/5/', '4.j', 'photo_1', '%', 'example.com/photos/96/'];
    for (const text of texts) {
      const expected = newestFirst.filter((url) => url.toLowerCase().includes(text.toLowerCase()));
      const found = await log.list({ urlContains: text, limit: 5, offset: 0 });
      assert.deepEqual([found.records.map((record) => record.url), found.total], [expected.slice(0, 5), expected.length], text);
    }
  });

  it('asks the trigram index for the rarest piece of the text only, reading a fraction of the pages the whole text costs', async () => {
    const fresh = await POSTGRES.fresh();
    await fresh.open();
    await fillLog(fresh.databaseUrl!, 50_000);
    const pool = new pg.Pool({ connectionString: fresh.databaseUrl!, max: 1 });
    try {
      const pagesRead = async (where: string, params: unknown[]): Promise<number> => {
        const client = await pool.connect();
        try {
          await client.query('SET enable_seqscan = off'); // both through the index, as a large log's are
          const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) FROM purge_log WHERE ${where}`, params);
          const plan = (rows[0]['QUERY PLAN'] as { Plan: Record<string, number> }[])[0]!.Plan;
          return plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!;
        } finally {
          await client.query('RESET enable_seqscan');
          client.release();
        }
      };
      const text = 'photo-12345.jpg';
      const params: unknown[] = [];
      const conditions = await new UrlSearch(pool).conditions(text, params);
      assert.deepEqual(params, ['%photo-12345.jpg%', '%-12345.%'], 'the index is asked for the number, the rarest piece');
      const rare = await pagesRead(conditions.join(' AND '), params);
      const whole = await pagesRead('url ILIKE $1', [containsPattern(text)]);
      assert.ok(rare * 4 < whole, `${rare} pages read for the rarest piece, ${whole} for the whole text`);
    } finally {
      await pool.end();
    }
  });
});

describe('PurgeLog on SQLite: one node, its own', () => {
  it('is not shared: its server is its only writer', async () => {
    assert.equal((await (await SQLITE.fresh()).open()).purgeLog.shared, undefined);
  });

  it('keeps the URL search index consistent when purges are deleted, indexed or not', async () => {
    const fresh = await SQLITE.fresh();
    const log = (await fresh.open()).purgeLog;
    const indexed = await append(log, '/dogs/indexed.jpg', { url: 'https://img.example/dogs/indexed.jpg', createdAt: 10 });
    await log.complete({ ...indexed, status: 'completed', completedAt: 11 });
    assert.equal(await log.indexForSearch(100), 1);
    const unindexed = await append(log, '/dogs/not-yet.jpg', { url: 'https://img.example/dogs/not-yet.jpg', createdAt: 20 });
    await log.complete({ ...unindexed, status: 'completed', completedAt: 21 });
    assert.equal(await log.deleteEndedBefore(100, 10), 2);
    await fresh.sql("INSERT INTO purges_url (purges_url) VALUES ('integrity-check')");
    assert.equal((await log.list({ urlContains: 'dogs/', limit: 10, offset: 0 })).total, 0);
    const later = await append(log, '/dogs/after.jpg', { url: 'https://img.example/dogs/after.jpg' });
    assert.equal(await log.indexForSearch(100), 1);
    assert.deepEqual((await log.list({ urlContains: 'dogs/', limit: 10, offset: 0 })).records.map((record) => record.id), [later.id]);
    await fresh.sql("INSERT INTO purges_url (purges_url) VALUES ('integrity-check')");
  });

  it('upgraded from the version that numbered purges when it applied them: pending purges are numbered above every number it handed out', async () => {
    const fresh = await SQLITE.fresh();
    const before = MIGRATIONS.findIndex((migration) => migration.includes('ADD COLUMN origin_error'));
    assert.ok(before > 0);
    const db = new Database(path.join(fresh.dataDir, 'pictor.db'));
    for (const migration of MIGRATIONS.slice(0, before)) db.exec(migration);
    db.pragma(`user_version = ${before}`);
    const insert = db.prepare(
      `INSERT INTO purges (id, url, source_id, path, match, status, generation, created_at, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const [done, first, second] = [randomUUID(), randomUUID(), randomUUID()];
    insert.run(done, 'https://img.example/done.jpg', SOURCE, '/done.jpg', 'exact', 'completed', 7, 1, 2);
    insert.run(first, 'https://img.example/pending.jpg', SOURCE, '/pending.jpg', 'exact', 'pending', null, 3, null);
    insert.run(second, 'https://img.example/dir/', SOURCE, '/dir/', 'prefix', 'pending', null, 4, null);
    db.prepare('INSERT INTO purge_marks (scope, seq) VALUES (?, 7)').run(scope('/done.jpg'));
    // Numbers were handed out in memory, reserved ahead on disk: entries cached then may carry any up to it.
    db.prepare("INSERT INTO meta (key, value) VALUES ('seq_reserved', '1000')").run();
    db.close();

    const log = (await fresh.open()).purgeLog;
    assert.deepEqual([(await log.get(first))?.seq, (await log.get(first))?.scopes], [1001, [scope('/pending.jpg')]]);
    assert.deepEqual([(await log.get(second))?.seq, (await log.get(second))?.scopes], [1002, [`P:${SOURCE}:/dir/`]]);
    assert.deepEqual((await log.get(done))?.scopes, [scope('/done.jpg')]);
    const snapshot = await log.snapshot();
    assert.deepEqual(
      { ...snapshot, marks: [...snapshot.marks].sort() },
      { seq: 1002, marks: [[`P:${SOURCE}:/dir/`, 1002], [scope('/done.jpg'), 7], [scope('/pending.jpg'), 1001]].sort(), floor: 0 },
    );
    assert.deepEqual((await log.claimStale(CLAIM, 10)).map((each) => each.id), [first, second], 'driven to completion after the start');
  });
});
