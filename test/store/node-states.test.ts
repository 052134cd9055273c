import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/store/stores.ts';
import { storeBackends } from '../helpers/store-backends.ts';

const [SQLITE, POSTGRES] = storeBackends('node-states');

/** Logs a purge; resolves with its sequence number (the log's head). */
async function logPurge(stores: Stores): Promise<number> {
  const record = {
    id: randomUUID(), url: 'https://img.example/a.jpg', sourceId: 'a'.repeat(24), path: '/a.jpg', match: 'exact' as const, subImage: false,
    parentSourceId: undefined, status: 'pending' as const, origin: undefined, matched: undefined, generation: undefined, error: undefined,
    requestedBy: undefined, createdAt: Date.now(), completedAt: undefined,
  };
  return stores.purgeLog.append(record, ['A:a:/a.jpg'], { coordinator: 'a', claimMs: 60_000 });
}

for (const backend of [SQLITE, POSTGRES]) {
  describe(`NodeStates on ${backend.name}`, () => {
    it('a node registers at 0, not fenced; what it acknowledges only rises', async () => {
      const { nodes } = await (await backend.fresh()).open();
      await nodes.register('a');
      await nodes.announce('a', { render: 'http://127.0.0.1:1', admin: 'http://127.0.0.1:2' });
      assert.deepEqual((await nodes.states()).map((state) => [state.id, state.lastApplied, state.fenced]), [['a', 0, false]]);
      assert.deepEqual(await nodes.ack('a', 5), { fenced: false });
      assert.deepEqual(await nodes.ack('a', 3), { fenced: false });
      assert.equal((await nodes.states())[0]?.lastApplied, 5);
      await nodes.register('a');
      assert.equal((await nodes.states())[0]?.lastApplied, 5, 'registering again (a restart) keeps its place');
    });

    it('a node renews its lease, or rejoins, only once it has applied the whole log', async () => {
      const stores = await (await backend.fresh()).open();
      await stores.nodes.register('a');
      const head = await logPurge(stores);
      assert.equal(await stores.nodes.renew('a', 60), false, 'behind the log');
      assert.equal(await stores.nodes.rejoin('a', 60), false);
      await stores.nodes.ack('a', head);
      assert.equal(await stores.nodes.renew('a', 60), true);
      assert.equal(await stores.nodes.rejoin('a', 60), true);
      assert.equal(await stores.nodes.renew('unknown', 60), false, 'a node never registered has no lease');
    });

    it('a node that has applied a purge, or holds its lease, is not fenced for it', async () => {
      const stores = await (await backend.fresh()).open();
      await stores.nodes.register('a');
      const head = await logPurge(stores);
      await stores.nodes.ack('a', head);
      assert.equal(await stores.nodes.renew('a', 60), true);
      assert.equal(await stores.nodes.fence('a', head), false);
      assert.equal(await stores.nodes.forgetGone(0), 0);
      assert.deepEqual((await stores.nodes.states()).map((state) => [state.id, state.fenced, state.expired]), [['a', false, false]]);
    });
  });
}

describe('NodeStates on PostgreSQL: the nodes of a cluster and their leases', () => {
  it('a node whose lease ran out before it applied a purge is fenced; it renews only after catching up and rejoining', async () => {
    const stores = await (await POSTGRES.fresh()).open();
    for (const id of ['b', 'a']) await stores.nodes.register(id);
    await stores.nodes.renew('a', 0); // a lease that is already over
    const head = await logPurge(stores);
    assert.deepEqual((await stores.nodes.states()).map((state) => [state.id, state.expired]), [['a', true], ['b', true]], 'by id');
    assert.equal(await stores.nodes.fence('a', head), true);
    assert.deepEqual(await stores.nodes.ack('a', head), { fenced: true });
    assert.equal(await stores.nodes.renew('a', 60), false, 'fenced: no lease until it rejoins');
    assert.equal(await stores.nodes.rejoin('a', 60), true);
    const { leaseUntil, ...state } = (await stores.nodes.states()).find((node) => node.id === 'a')!;
    assert.deepEqual(state, { id: 'a', lastApplied: head, expired: false, fenced: false });
    assert.ok(leaseUntil! > Date.now() + 30_000, 'the lease just renewed for 60 s, by the database\'s clock');
  });

  it('forgets nodes gone (fenced, lease over) for longer than asked', async () => {
    const stores = await (await POSTGRES.fresh()).open();
    await stores.nodes.register('gone');
    await stores.nodes.register('here');
    await stores.nodes.renew('gone', 0);
    assert.equal(await stores.nodes.fence('gone', await logPurge(stores)), true);
    assert.equal(await stores.nodes.forgetGone(3600), 0, 'not gone that long');
    assert.equal(await stores.nodes.forgetGone(0), 1);
    assert.deepEqual((await stores.nodes.states()).map((state) => state.id), ['here']);
  });
});

describe('NodeStates on SQLite: the one node of a data directory', () => {
  it('is never fenced: no other node completes a purge without it, so its lease never runs out', async () => {
    const stores = await (await SQLITE.fresh()).open();
    await stores.nodes.register('a');
    await stores.nodes.renew('a', 0);
    const head = await logPurge(stores);
    assert.equal(await stores.nodes.fence('a', head), false);
    assert.deepEqual(await stores.nodes.states(), [{ id: 'a', lastApplied: 0, expired: false, fenced: false }]);
  });

  it('another opening of the data directory (pictor status) lists the node that last served it, at the log\'s head', async () => {
    const fresh = await SQLITE.fresh();
    const server = await fresh.open();
    assert.deepEqual(await (await fresh.open()).nodes.states(), [], 'no node has served it yet');
    await server.nodes.register('old-id');
    await server.nodes.register('host:8080');
    const head = await logPurge(server);
    await server.nodes.ack('host:8080', head);
    assert.deepEqual(await (await fresh.open()).nodes.states(), [{ id: 'host:8080', lastApplied: head, expired: false, fenced: false }]);
  });
});
