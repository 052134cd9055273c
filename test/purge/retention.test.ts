import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { assetRef, assetScope, prefixScope } from '../../src/cache/freshness.ts';
import { PurgeLedger } from '../../src/purge/ledger.ts';
import { PurgeRetention } from '../../src/purge/retention.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { PurgeLog, PurgeRecord } from '../../src/store/purge-log.ts';
import { LAZY_COMMIT_MS } from '../../src/store/sqlite/group-commit.ts';
import { meanColour, rawGet, solidImage, startPictor } from '../helpers/pictor.ts';

const DAY = 24 * 3600 * 1000;
const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];
const SOURCE = 'a'.repeat(24);

/** Logs an exact purge of `/<name>.jpg` created `createdAt`, completed at `completedAt` if given; resolves with its number. */
async function logged(log: PurgeLog, name: string, createdAt: number, completedAt?: number): Promise<number> {
  const record: PurgeRecord = {
    id: randomUUID(), url: `https://img.example/${name}.jpg`, sourceId: SOURCE, path: `/${name}.jpg`, match: 'exact', subImage: false,
    parentSourceId: undefined, status: 'pending', origin: undefined, matched: undefined, generation: undefined, error: undefined,
    requestedBy: undefined, createdAt, completedAt: undefined,
  };
  const scope = name === 'dir' ? prefixScope(SOURCE, '/dir/') : assetScope(SOURCE, record.path);
  const seq = await log.append(record, [scope], { coordinator: 'test', claimMs: 60_000 });
  if (completedAt !== undefined) await log.complete({ ...record, status: 'completed', completedAt });
  return seq;
}

describe('Purge retention: history and marks are compacted, and nothing stale is served for it', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

  it('compacts through the ledger: the floor applies on this node at once, and a restart starts from it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-retention-'));
    dirs.push(dir);
    const stores = await openStores({ dataDir: dir });
    const now = Date.now();
    await logged(stores.purgeLog, 'old1', now - 10 * DAY, now - 10 * DAY);
    await logged(stores.purgeLog, 'dir', now - 9 * DAY, now - 9 * DAY);
    const floor = await logged(stores.purgeLog, 'old3', now - 8 * DAY, now - 8 * DAY);
    await logged(stores.purgeLog, 'new1', now - DAY, now - DAY);
    await logged(stores.purgeLog, 'stuck', now - 20 * DAY);
    const ledger = await PurgeLedger.open(stores.purgeLog);
    const retention = new PurgeRetention(ledger, { retentionMs: 7 * DAY, intervalMs: DAY });
    assert.deepEqual(await retention.compact(now), { floor, purgesDeleted: 3, marksDeleted: 3 });
    // Built before the floor: stale whatever it depends on. Built at or after: only its own marks count.
    assert.equal(ledger.view.isFresh([assetRef(SOURCE, '/other.jpg')], floor - 1), false);
    assert.equal(ledger.view.isFresh([assetRef(SOURCE, '/other.jpg')], floor), true);
    assert.equal(ledger.view.isFresh([assetRef(SOURCE, '/new1.jpg')], floor), false);
    assert.equal(ledger.view.isFresh([assetRef(SOURCE, '/stuck.jpg')], floor), false, 'a pending purge keeps its mark');
    await stores.close();
    // A restart starts from the persisted floor, without the forgotten marks.
    const again = await openStores({ dataDir: dir });
    const restarted = await PurgeLedger.open(again.purgeLog);
    assert.equal(restarted.view.isFresh([assetRef(SOURCE, '/old1.jpg')], floor - 1), false);
    assert.equal(restarted.view.isFresh([assetRef(SOURCE, '/old1.jpg')], floor), true);
    assert.equal(restarted.view.isFresh([assetRef(SOURCE, '/dir/a.jpg')], floor), true, 'the prefix mark went with the floor');
    await again.close();
  });

  it('a purge whose mark was compacted still keeps what it purged out of every tier, also after a restart', async () => {
    const t = await startPictor({ assets: { 'photo.jpg': await solidImage(120, 80, RED), 'other.jpg': await solidImage(60, 40, RED) } });
    const dataDir = t.dataDir;
    try {
      assert.ok(near(await meanColour((await rawGet(t.renderPort, '/photo.jpg?w=50')).body), RED));
      await t.put('photo.jpg', await solidImage(120, 80, BLUE));
      assert.equal((await t.purgeAndWait(`${t.renderUrl}/photo.jpg`)).status, 'completed');
      await new Promise((resolve) => setTimeout(resolve, 3 * LAZY_COMMIT_MS)); // the completion reaches the disk
      // Until asked again, the red derivative built before the purge is still on disk; its mark is what
      // keeps it out. Compact as if the retention window had passed: the mark goes, the floor takes over.
      const result = await t.pictor.purgeRetention!.compact(Date.now() + 30 * DAY);
      assert.equal(result.marksDeleted, 1);
      assert.equal(result.purgesDeleted, 1);
      const answer = await rawGet(t.renderPort, '/photo.jpg?w=50');
      assert.ok(near(await meanColour(answer.body), BLUE), 'the purged version is never served again');
      assert.match(String(answer.headers['cache-status']), /fwd=miss/);
      // Entries built before the floor are built again (conditional at the origin), never served stale.
      assert.match(String((await rawGet(t.renderPort, '/other.jpg?w=20')).headers['cache-status']), /fwd=miss/);
    } finally {
      await t.pictor.stop();
    }
    // The same data directory after a restart: the disk tier still holds the red derivative.
    const again = await startPictor({ dataDir, assets: { 'photo.jpg': await solidImage(120, 80, BLUE) } });
    try {
      assert.ok(near(await meanColour((await rawGet(again.renderPort, '/photo.jpg?w=50')).body), BLUE));
    } finally {
      await again.stop();
      await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
    }
  });
});

function near(actual: number[], expected: number[]): boolean {
  return actual.every((value, i) => Math.abs(value - expected[i]!) < 20);
}
