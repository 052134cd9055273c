import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PurgeLedger } from '../../src/purge/ledger.ts';
import { pendingPurge } from '../helpers/purge-records.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const [, POSTGRES] = storeBackends('own-matches');
const SOURCE = 'c'.repeat(24);
const CLAIM = { coordinator: 'node-a', claimMs: 60_000 };

/**
 * A node counts what a purge matched in its own caches once: at accept for the purges it appends, as it follows
 * the shared log for the others'. Following may read an entry back before the append that wrote it was
 * answered (its NOTIFY comes with the commit); it must still know the entry as its own.
 */
describe('the count a node adds to a purge it appended itself', () => {
  it('is never added again by following the log, however the append and the following interleave', async () => {
    const fresh = await POSTGRES.fresh();
    const stores = await fresh.open();
    const ledger = await PurgeLedger.open(stores.purgeLog);
    try {
      ledger.countMatches('node-a', () => 3);
      let appending = true;
      // Following as fast as it can while the appends run: each pass reads what has just been committed.
      const following = (async () => {
        while (appending) await ledger.follow();
      })();
      const appends = Array.from({ length: 300 }, (_, i) => ledger.append(pendingPurge(SOURCE, `/own/${i}.jpg`), [`A:${SOURCE}:/own/${i}.jpg`], CLAIM));
      await Promise.all(appends);
      appending = false;
      await following;
      await ledger.follow();
      assert.equal(await fresh.number("SELECT count(*) FROM purge_node_matches WHERE node_id = 'node-a'"), 0);
    } finally {
      await ledger.stop();
      await stores.close();
    }
  });
});
