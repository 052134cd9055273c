import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EdgeStore } from '../../src/store/edge-store.ts';
import { newSecretKey, SecretKeyError } from '../../src/store/secret-box.ts';
import { storeBackends, type FreshStore } from '../helpers/store-backends.ts';

/** The contract both implementations keep; `open` gives a store on an empty database. */
function edgeStoreContract(open: () => Promise<EdgeStore>, fresh?: () => Promise<FreshStore>): void {
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

  it('every change of rotation moves changedAt forward, even within one millisecond; the reason is kept as the last error', async () => {
    const store = await open();
    const added = (await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' }))!;
    let last = added.changedAt;
    for (const [inRotation, reason] of [[false, 'first'], [false, 'second'], [true, undefined], [false, 'third']] as const) {
      await store.setInRotation('edge-a', inRotation, reason);
      const edge = (await store.get('edge-a'))!;
      assert.ok(edge.changedAt > last, `${edge.changedAt} > ${last}`);
      last = edge.changedAt;
    }
    assert.equal((await store.get('edge-a'))?.lastError, 'third');
  });

  it('readmits an edge only while it is out and unchanged since it was read; a take-out in between wins', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    await store.setInRotation('edge-a', false, 'no answer within 500 ms');
    const read = (await store.get('edge-a'))!;
    // Taken out again (another purge it missed) while the flush that began after `read` was under way.
    await store.setInRotation('edge-a', false, 'connection refused (ECONNREFUSED)');
    assert.equal(await store.readmitIfUnchanged('edge-a', read.changedAt, 'automatic'), false);
    const still = (await store.get('edge-a'))!;
    assert.deepEqual([still.inRotation, still.reason, still.readmittedAt], [false, 'connection refused (ECONNREFUSED)', null]);

    assert.equal(await store.readmitIfUnchanged('edge-a', still.changedAt, 'automatic'), true);
    const back = (await store.get('edge-a'))!;
    assert.deepEqual([back.inRotation, back.reason, back.readmittedBy], [true, null, 'automatic']);
    assert.ok(back.changedAt > still.changedAt);
    assert.equal(back.readmittedAt, back.changedAt, 'its last change is the re-admission');
    assert.equal(back.lastError, 'connection refused (ECONNREFUSED)', 'the last error is kept once it is back');
    // A second node that flushed it too finds it changed, and writes nothing.
    assert.equal(await store.readmitIfUnchanged('edge-a', still.changedAt, 'automatic'), false);
    assert.equal(await store.readmitIfUnchanged('edge-a', back.changedAt, 'operator'), false, 'an edge in rotation is not readmitted');
    assert.deepEqual(await store.get('edge-a'), back);
    assert.equal(await store.readmitIfUnchanged('nope', 0, 'operator'), false);
  });

  it('notes an error only while the edge is out and unchanged, and only when it is a new one', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    await store.setInRotation('edge-a', false, 'no answer within 500 ms');
    const out = (await store.get('edge-a'))!;
    assert.equal(await store.noteError('edge-a', out.changedAt, 'edge edge-a could not be flushed: answered 403'), true);
    assert.equal(await store.noteError('edge-a', out.changedAt, 'edge edge-a could not be flushed: answered 403'), false, 'the same error: no write');
    const noted = (await store.get('edge-a'))!;
    assert.deepEqual([noted.inRotation, noted.reason, noted.changedAt], [false, 'no answer within 500 ms', out.changedAt]);
    assert.equal(noted.lastError, 'edge edge-a could not be flushed: answered 403');
    await store.setInRotation('edge-a', false, 'taken out again');
    assert.equal(await store.noteError('edge-a', out.changedAt, 'an older flush failed'), false, 'a newer take-out wins');
    assert.equal((await store.get('edge-a'))?.lastError, 'taken out again');
  });

  it('an edge added without a kind is a varnish edge with no settings or secrets', async () => {
    const store = await open();
    const added = await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    assert.equal(added?.kind, 'varnish');
    assert.deepEqual(added?.settings, {});
    assert.deepEqual(added?.secrets, {});
  });

  it('keeps a CDN edge with its kind, settings and secrets, and no url', async () => {
    const store = await open();
    const settings = { service_id: 'SU1Z0isxPaozGVKXdv0eY', soft_purge: true };
    const edge = { name: 'cdn', kind: 'fastly', url: null, settings, secrets: { api_token: 'tok-123' } };
    const added = await store.add(edge);
    const never = { readmittedAt: null, readmittedBy: null, lastError: null };
    assert.deepEqual({ ...added, changedAt: 0, createdAt: 0 }, { ...edge, inRotation: true, reason: null, changedAt: 0, createdAt: 0, ...never });
    assert.deepEqual(await store.get('cdn'), added);
  });

  if (fresh !== undefined) {
    it('seals the secrets at rest, each bound to its edge', async () => {
      const { open: openStores, sql } = await fresh();
      const { edges, meta } = await openStores();
      const secrets = { api_token: 'very-secret-token' };
      await edges.add({ name: 'cdn-a', kind: 'cloudflare', url: null, settings: { zone_id: 'a'.repeat(32) }, secrets });
      await edges.add({ name: 'cdn-b', kind: 'cloudflare', url: null, settings: { zone_id: 'b'.repeat(32) }, secrets: { api_token: 'other-token' } });
      await sql("INSERT INTO meta (key, value) SELECT 'raw', CAST(secrets AS TEXT) FROM edges WHERE name = 'cdn-a'");
      const raw = (await meta.get('raw'))!;
      assert.doesNotMatch(raw, /very-secret-token/);
      assert.match(raw, /"api_token": ?"enc:v1:/);
      // A sealed token copied into another edge's row does not open there.
      await sql("UPDATE edges SET secrets = (SELECT secrets FROM edges WHERE name = 'cdn-a') WHERE name = 'cdn-b'");
      await assert.rejects(edges.get('cdn-b'), SecretKeyError);
      assert.equal((await edges.get('cdn-a'))?.secrets.api_token, 'very-secret-token');
    });

    it('a key rotation seals the edge secrets again with the new key, so the old key can go', async () => {
      const { open: openStores } = await fresh();
      const [first, second] = [newSecretKey(), newSecretKey()];
      const before = await openStores([first]);
      await before.sources.sealAll();
      await before.edges.add({ name: 'cdn', kind: 'fastly', url: null, settings: { service_id: 's' }, secrets: { api_token: 'rotated-token' } });
      const rotating = await openStores([second, first]);
      assert.deepEqual(await rotating.sources.sealAll(), { sealed: 0, resealed: 1 });
      assert.deepEqual(await rotating.sources.sealAll(), { sealed: 0, resealed: 0 });
      const after = await openStores([second]);
      assert.equal((await after.edges.get('cdn'))?.secrets.api_token, 'rotated-token');
    });
  }

  it('removes an edge', async () => {
    const store = await open();
    await store.add({ name: 'edge-a', url: 'http://127.0.0.1:1' });
    assert.equal(await store.remove('edge-a'), true);
    assert.equal(await store.remove('edge-a'), false);
    assert.deepEqual(await store.list(), []);
  });
}

for (const backend of storeBackends('edges')) {
  describe(`EdgeStore on ${backend.name}`, () => edgeStoreContract(async () => (await (await backend.fresh()).open()).edges, () => backend.fresh()));
}
