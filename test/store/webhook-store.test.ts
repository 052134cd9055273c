import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, mock } from 'node:test';
import { newSecretKey, SecretKeyError } from '../../src/store/secret-box.ts';
import type { PurgeRecord } from '../../src/store/purge-log.ts';
import type { Stores } from '../../src/store/stores.ts';
import type { NewWebhook, OutboxEvent, WebhookEventType } from '../../src/store/webhook-store.ts';
import { purgeEvents, webhookEvent } from '../../src/webhooks/events.ts';
import { eventually } from '../helpers/pictor.ts';
import { storeBackends } from '../helpers/store-backends.ts';
import { pendingPurge } from '../helpers/purge-records.ts';

const BACKENDS = storeBackends('webhooks');
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

function webhook(events: WebhookEventType[], url = 'https://hooks.example.com/pictor'): NewWebhook {
  return { id: `wh_${randomUUID().replaceAll('-', '')}`, url, events, secret: SECRET, createdAt: Date.now() };
}

const purge = (fields: Partial<PurgeRecord> = {}): PurgeRecord => pendingPurge('a'.repeat(24), '/a.jpg', fields);

const claim = (node: string, now = Date.now(), leaseMs = 60_000) => ({ node, now, leaseMs, limit: 100 });

for (const backend of BACKENDS) {
  describe(`webhook store: ${backend.name}`, () => {
    it('keeps webhooks with their secret sealed at rest: a store with another key cannot open it', async () => {
      const fresh = await backend.fresh();
      const stores = await fresh.open();
      const added = webhook(['purge.completed', 'takedown.created']);
      assert.deepEqual(await stores.webhooks.add(added), { id: added.id, url: added.url, events: added.events, createdAt: added.createdAt });
      assert.deepEqual(await stores.webhooks.list(), [{ id: added.id, url: added.url, events: added.events, createdAt: added.createdAt }]);
      assert.equal((await stores.webhooks.get(added.id))?.url, added.url);
      assert.equal(await stores.webhooks.emit([webhookEvent('purge.completed', { n: 1 })]), 1);
      const [claimed] = await stores.webhooks.claimDue(claim('node-a'));
      assert.equal(claimed?.secret, SECRET, 'opened with the right key');

      const otherKey = await fresh.open([newSecretKey()]);
      await stores.webhooks.releaseClaims('node-a');
      await assert.rejects(otherKey.webhooks.claimDue(claim('node-a')), SecretKeyError);
      assert.equal(await stores.webhooks.remove(added.id), true);
      assert.equal(await stores.webhooks.remove(added.id), false);
      assert.deepEqual(await stores.webhooks.list(), []);
    });

    it('sealAll seals webhook secrets again with the first key: once the old key is gone, they still open', async () => {
      const fresh = await backend.fresh();
      const [oldKey, newKey] = [newSecretKey(), newSecretKey()];
      const before = await fresh.open([oldKey]);
      await before.sources.sealAll();
      const added = await before.webhooks.add(webhook(['purge.completed']));
      await before.webhooks.emit([webhookEvent('purge.completed', {})]);

      const rotating = await fresh.open([newKey, oldKey]);
      assert.deepEqual(await rotating.sources.sealAll(), { sealed: 0, resealed: 1 });
      assert.deepEqual(await rotating.sources.sealAll(), { sealed: 0, resealed: 0 }, 'nothing left to seal again');

      const after = await fresh.open([newKey]);
      await after.sources.checkKeys();
      await after.sources.sealAll();
      const [claimed] = await after.webhooks.claimDue(claim('node-a'));
      assert.deepEqual([claimed?.webhookId, claimed?.secret], [added.id, SECRET]);
    });

    it('sealAll (the start-up key check) refuses a webhook secret sealed with a key it does not hold, naming it', async () => {
      const fresh = await backend.fresh();
      const [serverKey, strayKey] = [newSecretKey(), newSecretKey()];
      await (await fresh.open([serverKey])).sources.sealAll();
      // Sealed by a handle whose first key is another one, which never recorded it (no sealAll).
      const stray = await (await fresh.open([strayKey, serverKey])).webhooks.add(webhook(['purge.completed']));
      const server = await fresh.open([serverKey]);
      const refusal = (error: unknown): boolean =>
        error instanceof SecretKeyError && error.message.includes(`secret of webhook ${stray.id} is encrypted with the key `) && /PICTOR_SECRET_KEY/.test(error.message);
      await assert.rejects(server.sources.sealAll(), refusal);
      await assert.rejects(server.sources.checkKeys(), refusal);
    });

    it('writes one delivery per event and subscribed webhook, claimed by one node at a time until its lease ends', async () => {
      const fresh = await backend.fresh();
      const [node, otherNode] = [await fresh.open(), await fresh.open()];
      const purges = await node.webhooks.add(webhook(['purge.completed']));
      const takedowns = await node.webhooks.add(webhook(['takedown.created']));
      const event = webhookEvent('purge.completed', { purge_id: 'p1' });
      assert.equal(await node.webhooks.emit([event, webhookEvent('asset.refreshed', {})]), 1, 'nobody subscribed to asset.refreshed');
      assert.equal(await node.webhooks.emit([event]), 0, 'the same event is written once');

      const now = Date.now();
      const claimed = await node.webhooks.claimDue(claim('node-a', now));
      assert.deepEqual(claimed.map((each) => [each.webhookId, each.eventId, each.body, each.attempts]), [[purges.id, event.id, event.body, 0]]);
      assert.deepEqual(await otherNode.webhooks.claimDue(claim('node-b', now)), [], 'held by node-a');
      const leaseEnd = (await node.webhooks.nextDue())!;
      assert.ok(leaseEnd >= now + 60_000 && leaseEnd <= Date.now() + 60_000, 'due again once the lease ends');
      const delivery = claimed[0]!;

      const attempt = { at: now, status: 500, error: null, response: 'busy' };
      assert.equal(await otherNode.webhooks.recordAttempt(delivery.id, 'node-b', attempt, { state: 'pending', nextAttemptAt: now + 1000 }), false);
      assert.equal(await node.webhooks.recordAttempt(delivery.id, 'node-a', attempt, { state: 'pending', nextAttemptAt: now + 1000 }), true);
      assert.deepEqual(await otherNode.webhooks.claimDue(claim('node-b', now + 999)), [], 'not due yet');
      const retried = await otherNode.webhooks.claimDue(claim('node-b', now + 1000));
      assert.deepEqual(retried.map((each) => [each.id, each.attempts]), [[delivery.id, 1]]);
      await otherNode.webhooks.recordAttempt(delivery.id, 'node-b', { at: now + 1000, status: 204, error: null, response: null }, { state: 'delivered', nextAttemptAt: now + 1000 });

      const [record] = await node.webhooks.deliveries(purges.id, 10);
      assert.equal(record?.state, 'delivered');
      assert.equal(record?.eventType, 'purge.completed');
      assert.deepEqual(record?.attempts, [attempt, { at: now + 1000, status: 204, error: null, response: null }]);
      assert.deepEqual(await node.webhooks.deliveries(takedowns.id, 10), []);
      assert.equal(await node.webhooks.nextDue(), undefined);

      assert.equal(await node.webhooks.redeliver(purges.id, delivery.id, now + 5000), true);
      assert.equal(await node.webhooks.redeliver(takedowns.id, delivery.id, now + 5000), false, "another webhook's delivery");
      const again = await node.webhooks.claimDue(claim('node-a', now + 5000));
      assert.deepEqual(again.map((each) => [each.id, each.eventId, each.windowStart]), [[delivery.id, event.id, now + 5000]]);
      assert.equal(await node.webhooks.releaseClaims('node-a'), 1);
      assert.equal((await node.webhooks.claimDue(claim('node-a', now + 5000))).length, 1, 'released: claimed again at once');
    });

    it('deleteEnded deletes delivered and failed deliveries ended before the cutoff with their attempts, a batch at a time; never a pending one', async () => {
      const fresh = await backend.fresh();
      const stores = await fresh.open();
      const hook = await stores.webhooks.add(webhook(['purge.completed']));
      const now = Date.now();
      const old = now - 40 * 86_400_000;
      const events = ['delivered', 'failed', 'pending', 'recent', 'redelivered'].map((name) => webhookEvent('purge.completed', { name }, old));
      await stores.webhooks.emit(events);
      const byName = new Map((await stores.webhooks.claimDue(claim('node-a', old))).map((each) => [JSON.parse(each.body).data.name as string, each.id]));
      const record = (name: string, at: number, state: 'delivered' | 'failed' | 'pending', nextAttemptAt = at) =>
        stores.webhooks.recordAttempt(byName.get(name)!, 'node-a', { at, status: state === 'delivered' ? 204 : 500, error: null, response: null }, { state, nextAttemptAt });
      await record('delivered', old, 'delivered');
      await record('failed', old, 'failed', old + 1000);
      await record('pending', old, 'pending', old + 2000);
      await record('recent', now, 'delivered');
      await record('redelivered', old, 'delivered');
      await stores.webhooks.redeliver(hook.id, byName.get('redelivered')!, old);
      assert.equal(await fresh.number('SELECT count(*) FROM webhook_attempts'), 5);

      const cutoff = now - 30 * 86_400_000;
      assert.equal(await stores.webhooks.deleteEnded(cutoff, 1), 1, 'at most a batch');
      assert.equal(await stores.webhooks.deleteEnded(cutoff, 10), 1);
      assert.equal(await stores.webhooks.deleteEnded(cutoff, 10), 0);
      const left = (await stores.webhooks.deliveries(hook.id, 10)).map((each) => [JSON.parse(events.find((event) => event.id === each.eventId)!.body).data.name, each.state]);
      assert.deepEqual(left.sort(), [['pending', 'pending'], ['recent', 'delivered'], ['redelivered', 'pending']]);
      assert.equal(await fresh.number('SELECT count(*) FROM webhook_attempts'), 3, 'the attempts of the deleted deliveries went with them');
    });

    it("writes a purge's events in its completion, and only in the first one; a failed purge reports purge.failed", async () => {
      const stores = await (await backend.fresh()).open();
      const hook = await stores.webhooks.add(webhook(['purge.completed', 'purge.failed']));
      const outbox = (record: PurgeRecord): OutboxEvent[] => purgeEvents(record);
      for (const status of ['completed', 'failed'] as const) {
        const record = purge();
        await stores.purgeLog.append(record, [`A:${record.sourceId}:${record.path}`], { coordinator: 'node-a', claimMs: 60_000 });
        const ended = { ...record, status, completedAt: Date.now(), error: status === 'failed' ? 'the origin could not be asked' : undefined };
        await stores.purgeLog.complete(ended, outbox);
        await stores.purgeLog.complete(ended, outbox);
      }
      const deliveries = await stores.webhooks.deliveries(hook.id, 10);
      assert.deepEqual(deliveries.map((each) => each.eventType).sort(), ['purge.completed', 'purge.failed']);
      const claimed = await stores.webhooks.claimDue(claim('node-a'));
      const failed = claimed.map((each) => JSON.parse(each.body) as { type: string; data: { status: string; error: string } }).find((body) => body.type === 'purge.failed');
      assert.deepEqual([failed?.data.status, failed?.data.error], ['failed', 'the origin could not be asked']);
    });

    it('writes takedown and asset events with their change, and nothing when the change is not made', async () => {
      const stores = await (await backend.fresh()).open();
      const hook = await stores.webhooks.add(webhook(['takedown.created', 'takedown.lifted', 'asset.refreshed']));
      const event = (type: WebhookEventType) => (): OutboxEvent[] => [webhookEvent(type, {})];
      const takedown = {
        id: randomUUID(), url: 'https://img.example/t.jpg', sourceId: 'a'.repeat(24), path: '/t.jpg', originObject: null, sha256: null,
        originNote: null, reason: 'notice', createdBy: 'key:k', createdAt: Date.now(),
      };
      await stores.takedowns.create(takedown, event('takedown.created'));
      await stores.takedowns.create({ ...takedown, id: randomUUID() }, event('takedown.created'));
      await stores.takedowns.lift(takedown.id, { actor: 'key:k', reason: null, at: Date.now() }, event('takedown.lifted'));
      await stores.takedowns.lift(takedown.id, { actor: 'key:k', reason: null, at: Date.now() }, event('takedown.lifted'));
      const facts = { mediaKind: 'IMAGE' as const, mediaWidth: 1, mediaHeight: 1, fileSize: 3, contentType: 'image/png', contentHash: 'h' };
      await stores.assets.index('a'.repeat(24), '/x.png', facts, Date.now(), event('asset.refreshed'));
      await stores.assets.remove('a'.repeat(24), '/x.png', event('asset.refreshed'));
      await stores.assets.remove('a'.repeat(24), '/x.png', event('asset.refreshed'));
      const types = (await stores.webhooks.deliveries(hook.id, 10)).map((each) => each.eventType).sort();
      assert.deepEqual(types, ['asset.refreshed', 'asset.refreshed', 'takedown.created', 'takedown.lifted']);
    });

    it('tells a watcher when deliveries are written, by this handle or another writer', async () => {
      const fresh = await backend.fresh();
      const [stores, other] = [await fresh.open(), await fresh.open()];
      await stores.webhooks.add(webhook(['purge.completed']));
      let heard = 0;
      const stop = await stores.webhooks.watch(() => heard++);
      try {
        await stores.webhooks.emit([webhookEvent('purge.completed', {})]);
        assert.ok(heard >= 1, 'at once in this process');
        const before = heard;
        await other.webhooks.emit([webhookEvent('purge.completed', {})]);
        await eventually(() => heard > before, 5000); // another writer is heard too
      } finally {
        await stop();
      }
    });
  });
}

describe('webhook store: PostgreSQL across nodes', () => {
  const postgres = BACKENDS[1];
  it("leases on the database's clock: a node whose clock runs ahead does not take a delivery another node holds", async () => {
    const fresh = await postgres.fresh();
    const [node, aheadNode] = [await fresh.open(), await fresh.open()];
    await node.webhooks.add(webhook(['purge.completed']));
    await node.webhooks.emit([webhookEvent('purge.completed', {})]);
    assert.equal((await node.webhooks.claimDue(claim('node-a', Date.now(), 60_000))).length, 1);
    assert.deepEqual(await aheadNode.webhooks.claimDue(claim('node-b', Date.now() + 120_000, 60_000)), [], 'held by node-a for a minute of the database clock');
    await fresh.sql('UPDATE webhook_deliveries SET claimed_until = claimed_until - 60000');
    assert.equal((await aheadNode.webhooks.claimDue(claim('node-b', Date.now() + 120_000, 60_000))).length, 1, 'taken once the lease has ended');
  });

  it('gives each due delivery to one of the nodes claiming at once', async () => {
    const fresh = await postgres.fresh();
    const nodes: Stores[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await fresh.open());
    await nodes[0]!.webhooks.add(webhook(['purge.completed']));
    await nodes[0]!.webhooks.emit(Array.from({ length: 60 }, () => webhookEvent('purge.completed', {})));
    const claims = await Promise.all(nodes.flatMap((node, i) => [0, 1, 2].map(() => node.webhooks.claimDue({ ...claim(`node-${i}`), limit: 7 }))));
    const ids = claims.flat().map((each) => each.id);
    assert.equal(new Set(ids).size, ids.length, 'no delivery claimed twice');
    assert.ok(ids.length > 0);
  });
});

describe('webhook store: SQLite commits', () => {
  /** Whether `promise` settles within a few turns of the event loop (no timer can fire: setTimeout is mocked). */
  const settlesSoon = async (promise: Promise<unknown>): Promise<boolean> => {
    let settled = false;
    void promise.then(() => (settled = true));
    for (let turn = 0; turn < 5 && !settled; turn++) await new Promise((resolve) => setImmediate(resolve));
    return settled;
  };

  it('commits a completion a webhook waits for at once, and one nobody waits for with the next commit', async () => {
    const stores = await (await BACKENDS[0].fresh()).open();
    await stores.webhooks.add(webhook(['purge.completed']));
    const [awaited, unawaited] = [purge(), purge({ status: 'failed' })];
    for (const record of [awaited, unawaited]) {
      await stores.purgeLog.append(record, [`A:${record.sourceId}:${record.path}`], { coordinator: 'node-a', claimMs: 60_000 });
    }
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const completed = stores.purgeLog.complete({ ...awaited, status: 'completed', completedAt: Date.now() }, purgeEvents);
      assert.equal(await settlesSoon(completed), true, 'committed in this turn: the message is not held back by the lazy commit');
      assert.equal((await stores.webhooks.claimDue(claim('node-a'))).length, 1);

      const failed = stores.purgeLog.complete({ ...unawaited, status: 'failed', completedAt: Date.now() }, purgeEvents);
      assert.equal(await settlesSoon(failed), false, 'purge.failed has no subscriber: it waits to ride along with a later commit');
      mock.timers.tick(1000);
      await failed;
    } finally {
      mock.timers.reset();
    }
  });
});
