import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgePurgeStore } from '../../src/store/edge-purge-store.ts';
import { storeBackends } from '../helpers/store-backends.ts';

/** The contract both implementations keep; `open` gives two handles (two nodes) on one empty database. */
function edgePurgeStoreContract(open: () => Promise<[EdgePurgeStore, EdgePurgeStore]>): void {
  const edges = [
    { edge: 'cdn', kind: 'cloudfront', state: 'pending' as const },
    { edge: 'v1', kind: 'varnish', state: 'out_of_rotation' as const, lastError: 'no answer within 500 ms' },
  ];

  it('begins a purge once: a second begin keeps the states it finds, and adds only edges without one', async () => {
    const [store] = await open();
    const { states: begun, taken } = await store.begin('p1', edges, 1000, 30_000);
    assert.deepEqual([...taken], ['cdn'], 'the pending state it added is taken; the final one is not');
    assert.deepEqual(
      begun.map((state) => [state.edge, state.kind, state.state, state.attempts, state.lastError, state.nextAttemptAt]),
      [
        ['cdn', 'cloudfront', 'pending', 0, null, 1000],
        ['v1', 'varnish', 'out_of_rotation', 0, 'no answer within 500 ms', 1000],
      ],
    );
    await store.settle({ purgeId: 'p1', edge: 'cdn', state: 'pending', vendorId: 'I2J0', attempts: 1, nextAttemptAt: 5000, lastError: null }, 2000);
    const { states: again, taken: takenAgain } = await store.begin('p1', [...edges, { edge: 'v2', kind: 'nginx', state: 'pending' }], 3000, 30_000);
    assert.deepEqual([...takenAgain], ['v2'], 'only the state it added');
    assert.deepEqual(again.map((state) => [state.edge, state.vendorId, state.attempts]), [['cdn', 'I2J0', 1], ['v1', null, 0], ['v2', null, 0]]);
    assert.deepEqual(await store.list('other'), []);
  });

  it('lets one node take a due state at a time, and none take it before it is due or once it is final', async () => {
    const [one, two] = await open();
    assert.deepEqual([...(await one.begin('p1', edges, 1000, 30_000)).taken], ['cdn']);
    const second = await two.begin('p1', edges, 1500, 30_000);
    assert.deepEqual([[...second.taken], second.states.length], [[], 2], 'the second node finds both states, and takes none');
    assert.equal(await two.take('p1', 'cdn', 2000, 30_000), undefined, 'held by the first node since it began the purge');
    assert.equal((await two.take('p1', 'cdn', 31_001, 30_000))?.edge, 'cdn', 'the hold ran out');
    const retry = { purgeId: 'p1', edge: 'cdn', state: 'pending' as const, vendorId: null, attempts: 1, nextAttemptAt: 40_000, lastError: 'answered 503' };
    await two.settle(retry, 31_002);
    assert.equal(await one.take('p1', 'cdn', 39_999, 30_000), undefined, 'not due yet');
    assert.equal((await one.take('p1', 'cdn', 40_000, 30_000))?.lastError, 'answered 503');
    await one.settle({ purgeId: 'p1', edge: 'cdn', state: 'purged', vendorId: null, attempts: 2, nextAttemptAt: 40_000, lastError: null }, 40_001);
    assert.equal(await two.take('p1', 'cdn', 99_000, 30_000), undefined, 'final');
    assert.equal(await one.take('p1', 'v1', 99_000, 30_000), undefined, 'out of rotation is final');
  });

  it('leaves a final state as it is when a late try settles', async () => {
    const [store] = await open();
    await store.begin('p1', edges, 1000, 30_000);
    const refused = { purgeId: 'p1', edge: 'cdn', state: 'failed' as const, vendorId: null, attempts: 3, nextAttemptAt: 1000, lastError: 'answered 403' };
    assert.equal(await store.settle(refused, 2000), true);
    assert.equal(await store.settle({ purgeId: 'p1', edge: 'cdn', state: 'purged', vendorId: null, attempts: 4, nextAttemptAt: 1000, lastError: null }, 3000), false);
    const [cdn] = await store.list('p1');
    assert.deepEqual([cdn?.state, cdn?.attempts, cdn?.lastError, cdn?.updatedAt], ['failed', 3, 'answered 403', 2000]);
  });

  it("answers each edge's last confirmed purge, leaving out edges that confirmed none", async () => {
    const [store] = await open();
    const purged = (purgeId: string, edge: string, at: number): Promise<void> =>
      store.settle({ purgeId, edge, state: 'purged', vendorId: null, attempts: 1, nextAttemptAt: at, lastError: null }, at).then(() => undefined);
    await store.begin('p1', edges, 1000, 30_000);
    await purged('p1', 'cdn', 2000);
    await store.begin('p2', [edges[0]!, { edge: 'v1', kind: 'varnish', state: 'pending' as const }], 3000, 30_000);
    await purged('p2', 'v1', 3500);
    await store.begin('p3', edges, 4000, 30_000);
    const refused = { purgeId: 'p3', edge: 'cdn', state: 'failed' as const, vendorId: null, attempts: 9, nextAttemptAt: 4000, lastError: 'answered 403' };
    await store.settle(refused, 5000);
    const last = await store.lastPurged(['cdn', 'v1', 'v2']);
    assert.deepEqual([...last].sort(), [['cdn', 2000], ['v1', 3500]]);
    assert.deepEqual([...(await store.lastPurged([]))], []);
  });

  it('forgets the states of purges created before a cutoff, a batch at a time', async () => {
    const [store] = await open();
    await store.begin('old', edges, 1000, 30_000);
    await store.begin('new', edges, 5000, 30_000);
    assert.equal(await store.deleteBefore(2000, 1), 1);
    assert.equal(await store.deleteBefore(2000, 10), 1);
    assert.equal(await store.deleteBefore(2000, 10), 0);
    assert.deepEqual(await store.list('old'), []);
    assert.equal((await store.list('new')).length, 2);
  });
}

for (const backend of storeBackends('edge-purges')) {
  describe(`EdgePurgeStore on ${backend.name}`, () =>
    edgePurgeStoreContract(async () => {
      const fresh = await backend.fresh();
      return [(await fresh.open()).edgePurges, (await fresh.open()).edgePurges];
    }));
}
