import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeStore } from '../../src/store/edge-store.ts';
import { storeBackends } from '../helpers/store-backends.ts';

/** The contract both implementations keep; `open` gives a store on an empty database. */
function edgeStoreContract(open: () => Promise<EdgeStore>): void {
  it('adds, gets and lists edges by name, in rotation', async () => {
    const store = await open();
    assert.deepEqual(await store.list(), []);
    const added = await store.add({ name: 'edge-b', url: 'http://127.0.0.1:6082' });
    assert.equal(added?.name, 'edge-b');
    assert.equal(added?.inRotation, true);
    assert.equal(added?.reason, null);
    assert.ok(added!.createdAt > 0 && added!.changedAt === added!.createdAt);
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:6081' });
    assert.deepEqual((await store.list()).map((edge) => edge.name), ['edge-a', 'edge-b']);
    assert.deepEqual(await store.get('edge-b'), added);
    assert.equal(await store.get('nope'), undefined);
  });

  it('a taken name adds nothing', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    assert.equal(await store.add({ name: 'edge-a', url: 'http://127.0.0.1:2' }), undefined);
    assert.equal((await store.get('edge-a'))?.url, 'http://127.0.0.1:1');
  });

  it('takes an edge out of rotation with its reason, and back without one', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    assert.equal(await store.setInRotation('edge-a', false, 'no answer within 500 ms'), true);
    const out = await store.get('edge-a');
    assert.equal(out?.inRotation, false);
    assert.equal(out?.reason, 'no answer within 500 ms');
    assert.equal(await store.setInRotation('edge-a', true), true);
    const back = await store.get('edge-a');
    assert.equal(back?.inRotation, true);
    assert.equal(back?.reason, null);
    assert.equal(await store.setInRotation('nope', false, 'x'), false);
  });

  it('removes an edge', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    assert.equal(await store.remove('edge-a'), true);
    assert.equal(await store.remove('edge-a'), false);
    assert.deepEqual(await store.list(), []);
  });
}

for (const backend of storeBackends('edges')) {
  describe(`EdgeStore on ${backend.name}`, () => edgeStoreContract(async () => (await (await backend.fresh()).open()).edges));
}
