import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { assetRef, assetScope, Freshness, prefixScope } from '../../src/cache/freshness.ts';
import { PurgeRetention } from '../../src/purge/retention.ts';
import type { PurgeRecord } from '../../src/purge/model.ts';
import { openDatabase } from '../../src/store/sqlite/db.ts';
import { LAZY_COMMIT_MS } from '../../src/store/sqlite/group-commit.ts';
import { PurgeStore } from '../../src/store/sqlite/purge-store.ts';
import { meanColour, rawGet, solidImage, startPictor } from '../helpers/pictor.ts';

const DAY = 24 * 3600 * 1000;
const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];

function record(id: string, fields: Partial<PurgeRecord>): PurgeRecord {
  return {
    id,
    url: `https://img.example/${id}.jpg`,
    sourceId: 'a'.repeat(24),
    path: `/${id}.jpg`,
    match: 'exact',
    subImage: false,
    parentSourceId: undefined,
    status: 'pending',
    origin: undefined,
    matched: undefined,
    generation: undefined,
    error: undefined,
    requestedBy: undefined,
    createdAt: 0,
    completedAt: undefined,
    ...fields,
  };
}

describe('Purge retention: history and marks are compacted, and nothing stale is served for it', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

  it('deletes purges that ended before the cutoff and the marks up to the newest of them; keeps the rest', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-retention-'));
    dirs.push(dir);
    const db = openDatabase(dir);
    const store = new PurgeStore(db);
    const now = Date.now();
    const source = 'a'.repeat(24);
    const purges = [
      record('old1', { createdAt: now - 10 * DAY, completedAt: now - 10 * DAY, status: 'completed', generation: 1 }),
      record('old2', { createdAt: now - 9 * DAY, completedAt: now - 9 * DAY, status: 'failed', generation: undefined }),
      record('old3', { createdAt: now - 8 * DAY, completedAt: now - 8 * DAY, status: 'completed', generation: 2 }),
      record('new1', { createdAt: now - DAY, completedAt: now - DAY, status: 'completed', generation: 3 }),
      record('stuck', { createdAt: now - 20 * DAY, status: 'pending' }),
    ];
    db.transaction(() => {
      for (const purge of purges) {
        store.insert(purge);
        if (purge.status !== 'pending') store.finish(purge, purge.generation === undefined ? [] : [assetScope(source, purge.path)]);
      }
    })();
    store.saveMarks([prefixScope(source, '/dir/')], 2);

    const freshness = new Freshness(store.marks(), 3, () => {}, store.floor());
    const retention = new PurgeRetention(store, freshness, { retentionMs: 7 * DAY, intervalMs: DAY });
    const result = await retention.compact(now);
    assert.deepEqual(result, { floor: 2, purgesDeleted: 3, marksDeleted: 3 });
    assert.equal(store.floor(), 2, 'the floor is persisted');
    assert.deepEqual(store.marks(), [[assetScope(source, '/new1.jpg'), 3]]);
    assert.deepEqual(
      ['old1', 'old2', 'old3', 'new1', 'stuck'].map((id) => store.get(id) !== undefined),
      [false, false, false, true, true],
      'a pending purge is never deleted, whatever its age',
    );
    assert.equal(freshness.size, 1);
    // Built before the floor: stale whatever it depends on. Built at or after: only its own marks count.
    assert.equal(freshness.isFresh([assetRef(source, '/other.jpg')], 1), false);
    assert.equal(freshness.isFresh([assetRef(source, '/other.jpg')], 2), true);
    assert.equal(freshness.isFresh([assetRef(source, '/new1.jpg')], 2), false);
    // A restart starts from the persisted floor, without the forgotten marks.
    const restarted = new Freshness(store.marks(), 3, () => {}, store.floor());
    assert.equal(restarted.isFresh([assetRef(source, '/old1.jpg')], 0), false);
    assert.equal(restarted.isFresh([assetRef(source, '/old1.jpg')], 2), true);
    db.close();
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
