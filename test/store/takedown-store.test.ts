import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { NewTakedown, TakedownStore } from '../../src/store/takedown-store.ts';
import { eventually } from '../helpers/pictor.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const SOURCE = 'a'.repeat(24);

function newTakedown(pathName: string, at: number, reason = 'notice'): NewTakedown {
  return {
    id: randomUUID(),
    url: `https://images.example.com${pathName}`,
    sourceId: SOURCE,
    path: pathName,
    originObject: `folder:/srv/images${pathName}`,
    sha256: 'ab'.repeat(32),
    originNote: null,
    reason,
    createdBy: 'key:k1 (legal)',
    createdAt: at,
  };
}

/**
 * The contract both implementations keep. `open` gives two stores on one empty database (two writers: two
 * processes, or two nodes) and a way to try changing the audit trail behind the store's back.
 */
function takedownStoreContract(open: () => Promise<{ store: TakedownStore; other: TakedownStore; tamper: (sql: string) => Promise<unknown> }>): void {
  it('creates a takedown with its audit entry; one active takedown per asset', async () => {
    const { store } = await open();
    const first = newTakedown('/a.jpg', 1000);
    const { record, created } = await store.create(first);
    assert.equal(created, true);
    assert.deepEqual(record, { ...first, purgeId: null, liftedAt: null, liftedBy: null });
    assert.deepEqual(await store.get(first.id), record);

    const duplicate = await store.create(newTakedown('/a.jpg', 2000, 'another notice'));
    assert.equal(duplicate.created, false);
    assert.equal(duplicate.record.id, first.id, 'the active one is returned, nothing written');
    assert.equal((await store.list({ offset: 0, limit: 10 })).total, 1);
    assert.deepEqual(await store.audit(first.id), [{ takedownId: first.id, action: 'created', actor: 'key:k1 (legal)', reason: 'notice', at: 1000 }]);

    await store.setPurge(first.id, 'purge-1');
    assert.equal((await store.get(first.id))?.purgeId, 'purge-1');
    assert.deepEqual(await store.active(), [{ sourceId: SOURCE, path: '/a.jpg', originObject: 'folder:/srv/images/a.jpg', sha256: 'ab'.repeat(32) }]);
  });

  it('keeps what the origin had (its object, the SHA-256 of its bytes), or what could not be recorded and why', async () => {
    const { store, other } = await open();
    const absent = { ...newTakedown('/later.jpg', 1000), sha256: null, originNote: 'The origin had no such file when the takedown was created.' };
    const unknown = { ...newTakedown('/down.jpg', 2000), originObject: null, sha256: null, originNote: 'The origin could not be read.' };
    for (const takedown of [absent, unknown]) {
      assert.deepEqual((await store.create(takedown)).record, { ...takedown, purgeId: null, liftedAt: null, liftedBy: null });
      assert.deepEqual(await other.get(takedown.id), { ...takedown, purgeId: null, liftedAt: null, liftedBy: null }, 'as another writer reads it');
    }
    const active = await other.active();
    assert.deepEqual(
      active.sort((a, b) => a.path.localeCompare(b.path)),
      [
        { sourceId: SOURCE, path: '/down.jpg', originObject: null, sha256: null },
        { sourceId: SOURCE, path: '/later.jpg', originObject: 'folder:/srv/images/later.jpg', sha256: null },
      ],
    );
  });

  it('lifts once, audited; the asset may then be taken down again', async () => {
    const { store } = await open();
    const first = newTakedown('/a.jpg', 1000);
    await store.create(first);
    const lifted = await store.lift(first.id, { actor: 'user:admin', reason: 'counter-notice', at: 5000 });
    assert.equal(lifted?.lifted, true);
    assert.equal(lifted?.record.liftedAt, 5000);
    assert.equal(lifted?.record.liftedBy, 'user:admin');
    const again = await store.lift(first.id, { actor: 'user:other', reason: null, at: 6000 });
    assert.equal(again?.lifted, false);
    assert.equal(again?.record.liftedBy, 'user:admin', 'unchanged');
    assert.equal(await store.lift(randomUUID(), { actor: 'x', reason: null, at: 1 }), undefined);
    assert.deepEqual(
      (await store.audit(first.id)).map((entry) => [entry.action, entry.actor, entry.reason, entry.at]),
      [
        ['created', 'key:k1 (legal)', 'notice', 1000],
        ['lifted', 'user:admin', 'counter-notice', 5000],
      ],
    );
    assert.deepEqual(await store.active(), []);
    const second = await store.create(newTakedown('/a.jpg', 7000));
    assert.equal(second.created, true);
    assert.deepEqual((await store.active()).map((asset) => asset.path), ['/a.jpg']);
  });

  it('lists newest first (same millisecond: the later one first), paged, all or only the active ones', async () => {
    const { store } = await open();
    const made = [];
    for (const [name, at] of [['/1.jpg', 1000], ['/2.jpg', 2000], ['/3.jpg', 2000], ['/4.jpg', 3000]] as const) made.push((await store.create(newTakedown(name, at))).record);
    await store.lift(made[3]!.id, { actor: 'user:admin', reason: null, at: 4000 });
    const all = await store.list({ offset: 0, limit: 10 });
    assert.equal(all.total, 4);
    assert.deepEqual(all.records.map((record) => record.path), ['/4.jpg', '/3.jpg', '/2.jpg', '/1.jpg']);
    const page = await store.list({ offset: 1, limit: 2 });
    assert.deepEqual(page.records.map((record) => record.path), ['/3.jpg', '/2.jpg']);
    const active = await store.list({ activeOnly: true, offset: 0, limit: 10 });
    assert.equal(active.total, 3);
    assert.deepEqual(active.records.map((record) => record.path), ['/3.jpg', '/2.jpg', '/1.jpg']);
  });

  it('the audit trail cannot be changed or deleted', async () => {
    const { store, tamper } = await open();
    const first = newTakedown('/a.jpg', 1000);
    await store.create(first);
    await assert.rejects(tamper("UPDATE takedown_audit SET reason = 'edited'"), /append-only/);
    await assert.rejects(tamper('DELETE FROM takedown_audit'), /append-only/);
    assert.equal((await store.audit(first.id))[0]?.reason, 'notice');
  });

  it('watch tells another writer of creations and lifts', async () => {
    const { store, other } = await open();
    let changes = 0;
    const stop = await other.watch(() => changes++);
    try {
      const first = newTakedown('/a.jpg', 1000);
      await store.create(first);
      await eventually(() => changes > 0);
      const seen = changes;
      await store.lift(first.id, { actor: 'user:admin', reason: null, at: 2000 });
      await eventually(() => changes > seen);
      assert.deepEqual(await other.active(), []);
    } finally {
      await stop();
    }
  });
}

for (const backend of storeBackends('takedowns')) {
  describe(`TakedownStore on ${backend.name}`, () => {
    takedownStoreContract(async () => {
      // Two writers on one store: two processes on one data directory, or two nodes on one database.
      const fresh = await backend.fresh();
      return { store: (await fresh.open()).takedowns, other: (await fresh.open()).takedowns, tamper: fresh.sql };
    });
  });
}
