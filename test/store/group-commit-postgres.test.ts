import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { PurgeLog, PurgeRecord } from '../../src/store/purge-log.ts';
import { eventually } from '../helpers/pictor.ts';
import { storeBackends, type FreshStore } from '../helpers/store-backends.ts';
import { pendingPurge } from '../helpers/purge-records.ts';

/**
 * Group commit on PostgreSQL (src/store/postgres/batcher.ts), observed in the server itself: every transaction
 * that writes takes a transaction id, so the ids handed out while a burst is written count its write
 * transactions, whoever sent them.
 */
const [, POSTGRES] = storeBackends('group-commit');

const SOURCE = 'b'.repeat(24);
const CLAIM = { coordinator: 'node-a', claimMs: 60_000 };
const BURST = 500;

const purge = (pathName: string): PurgeRecord => pendingPurge(SOURCE, pathName);

const scope = (pathName: string): string => `A:${SOURCE}:${pathName}`;

/** The next transaction id the server will hand out (reading it takes none). */
const nextXid = (fresh: FreshStore): Promise<number> => fresh.number('SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint');

/** Write transactions the server ran while `fn` ran. */
async function writeTransactions(fresh: FreshStore, fn: () => Promise<unknown>): Promise<number> {
  const before = await nextXid(fresh);
  await fn();
  return (await nextXid(fresh)) - before;
}

async function openLog(): Promise<{ fresh: FreshStore; log: PurgeLog }> {
  const fresh = await POSTGRES.fresh();
  return { fresh, log: (await fresh.open()).purgeLog };
}

describe('group commit on PostgreSQL', () => {
  it(`${BURST} purges appended at once are each logged once, numbered apart, in a few transactions`, async () => {
    const { fresh, log } = await openLog();
    const records = Array.from({ length: BURST }, (_, i) => purge(`/burst/${i}.jpg`));
    let seqs: number[] = [];
    const transactions = await writeTransactions(fresh, async () => {
      seqs = await Promise.all(records.map((record) => log.append(record, [scope(record.path)], CLAIM)));
    });
    assert.equal(new Set(seqs).size, BURST, 'every purge has its own number');
    assert.equal(await fresh.number('SELECT count(DISTINCT id) FROM purge_log'), BURST);
    assert.equal(await fresh.number('SELECT count(*) FROM purge_log'), BURST, 'each purge once');
    for (const [i, record] of records.entries()) assert.equal((await log.get(record.id))?.seq, seqs[i]);
    assert.ok(transactions <= 10, `${BURST} purges took ${transactions} write transactions`);
  });

  it('a batch whose transaction is killed before it commits acknowledges none of its purges; purges after it are logged', async () => {
    const { fresh, log } = await openLog();
    const shared = scope('/shared.jpg');
    const before = await log.append(purge('/shared.jpg'), [shared], CLAIM);
    // Another transaction holds the shared scope's mark: a batch inserts its rows, then waits on that mark.
    const [blocker, killer] = [new pg.Client({ connectionString: fresh.databaseUrl }), new pg.Client({ connectionString: fresh.databaseUrl })];
    await Promise.all([blocker.connect(), killer.connect()]);
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT seq FROM purge_marks WHERE scope = $1 FOR UPDATE', [shared]);
      const records = Array.from({ length: 100 }, (_, i) => purge(`/killed/${i}.jpg`));
      const settled = Promise.allSettled(records.map((record) => log.append(record, [scope(record.path), shared], CLAIM)));
      let done = false;
      void settled.then(() => (done = true));
      // Each batch in turn (the first purge alone, then the others together) is killed mid-statement.
      let killed = 0;
      while (!done) {
        // From outside the blocker's transaction, which would keep reading one snapshot of the activity.
        const { rows } = await killer.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'pictor' AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO purge_log%'`,
        );
        killed += rows.length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const results = await settled;
      assert.ok(killed >= 2, 'both batches were killed');
      assert.deepEqual(new Set(results.map((result) => result.status)), new Set(['rejected']), 'no purge of a killed batch is acknowledged');
      await blocker.query('ROLLBACK');
      assert.equal(await fresh.number(`SELECT count(*) FROM purge_log WHERE path LIKE '/killed/%'`), 0, 'none of them is in the log');
      assert.equal(await fresh.number(`SELECT seq FROM purge_marks WHERE scope = '${shared}'`), before, 'nor in the marks');
    } finally {
      await Promise.all([blocker.end(), killer.end()]);
    }
    const after = await log.append(purge('/after.jpg'), [scope('/after.jpg'), shared], CLAIM);
    assert.ok(after > before);
    assert.equal(await fresh.number(`SELECT seq FROM purge_marks WHERE scope = '${shared}'`), after);
  });

  it('completions written at once share transactions; of two completions of one purge, the first counts', async () => {
    const { fresh, log } = await openLog();
    const records = Array.from({ length: 200 }, (_, i) => purge(`/done/${i}.jpg`));
    await Promise.all(records.map((record) => log.append(record, [scope(record.path)], CLAIM)));
    const completed = (record: PurgeRecord, origin: PurgeRecord['origin']): PurgeRecord => ({
      ...record,
      status: 'completed',
      origin,
      completedAt: Date.now(),
    });
    const transactions = await writeTransactions(fresh, async () => {
      // The first purge completes twice, in one batch: `removed` first.
      await Promise.all([...records.map((record) => log.complete(completed(record, 'removed'))), log.complete(completed(records[0]!, 'unchanged'))]);
    });
    assert.ok(transactions <= 10, `200 completions took ${transactions} write transactions`);
    assert.equal(await fresh.number("SELECT count(*) FROM purge_log WHERE status = 'completed' AND origin = 'removed'"), 200);
    assert.equal((await log.get(records[0]!.id))?.origin, 'removed');
  });

  it('takes of one caller arriving at once share a statement and spend exactly the bucket', async () => {
    const fresh = await POSTGRES.fresh();
    const stores = await fresh.open();
    const limiter = stores.rateLimiter('purge', 0.01, 150);
    let waits: number[] = [];
    const transactions = await writeTransactions(fresh, async () => {
      waits = await Promise.all(Array.from({ length: 200 }, () => limiter.take('key')));
    });
    assert.equal(waits.filter((wait) => wait === 0).length, 150, 'the burst, and no more');
    assert.ok(waits.filter((wait) => wait > 0).every((wait) => wait >= 1), 'the others wait whole seconds');
    assert.ok(transactions <= 10, `200 takes took ${transactions} write transactions`);
    await eventually(async () => (await limiter.take('key')) > 0);
  });
});
