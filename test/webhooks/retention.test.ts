import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { openStores } from '../../src/store/open-stores.ts';
import type { Stores } from '../../src/store/stores.ts';
import type { WebhookEventType } from '../../src/store/webhook-store.ts';
import { webhookEvent } from '../../src/webhooks/events.ts';
import { WebhookRetention } from '../../src/webhooks/retention.ts';
import { eventually, startPictor } from '../helpers/pictor.ts';
import { storeBackends, TEST_SECRET } from '../helpers/store-backends.ts';

const BACKENDS = storeBackends('webhook-retention');
const DAY = 86_400_000;

/**
 * A webhook of `type` with `ended` deliveries delivered at `endedAt`, and one still pending from that time:
 * answers the webhook's id and the pending delivery's.
 */
async function deliveriesEndedAt(
  stores: Stores,
  endedAt: number,
  ended: number,
  type: WebhookEventType = 'purge.completed',
): Promise<{ webhookId: string; pendingId: string }> {
  const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
  const webhookId = `wh_${randomUUID().replaceAll('-', '')}`;
  await stores.webhooks.add({ id: webhookId, url: 'https://hooks.example.com/pictor', events: [type], secret, createdAt: endedAt });
  await stores.webhooks.emit(Array.from({ length: ended + 1 }, (_, i) => webhookEvent(type, { i }, endedAt)));
  const claimed = await stores.webhooks.claimDue({ node: 'node-a', now: endedAt, leaseMs: 60_000, limit: 1000 });
  const [pending, ...rest] = claimed.filter((delivery) => delivery.webhookId === webhookId);
  for (const delivery of rest) {
    await stores.webhooks.recordAttempt(delivery.id, 'node-a', { at: endedAt, status: 204, error: null, response: null }, { state: 'delivered', nextAttemptAt: endedAt });
  }
  await stores.webhooks.recordAttempt(pending!.id, 'node-a', { at: endedAt, status: 503, error: null, response: null }, { state: 'pending', nextAttemptAt: endedAt + 1 });
  return { webhookId, pendingId: pending!.id };
}

for (const backend of BACKENDS) {
  describe(`webhook retention: ${backend.name}`, () => {
    it('deletes the deliveries that ended before the retention, batch after batch, and keeps pending and recent ones', async () => {
      const stores = await (await backend.fresh()).open();
      const now = Date.now();
      const old = await deliveriesEndedAt(stores, now - 31 * DAY, 7);
      const recent = await deliveriesEndedAt(stores, now - DAY, 2, 'purge.failed');
      const retention = new WebhookRetention(stores.webhooks, { retentionMs: 30 * DAY, intervalMs: DAY, batch: 3 });

      assert.equal(await retention.prune(now), 7, 'three full batches of three, the last one short');
      assert.deepEqual((await stores.webhooks.deliveries(old.webhookId, 100)).map((each) => [each.id, each.state]), [[old.pendingId, 'pending']]);
      assert.equal((await stores.webhooks.deliveries(recent.webhookId, 100)).length, 3);
      assert.equal(await retention.prune(now), 0);
      assert.equal(await retention.prune(now + 30 * DAY), 2, 'the recent ones, once they are old too; never the pending ones');
      assert.equal((await stores.webhooks.deliveries(recent.webhookId, 100)).length, 1);
    });
  });
}

describe('webhook retention in a server', () => {
  it('a server started with --webhook-retention deletes the deliveries that ended before it', async () => {
    const fresh = await BACKENDS[0].fresh();
    const before = await openStores({ dataDir: fresh.dataDir, secretKeys: TEST_SECRET });
    const { webhookId, pendingId } = await deliveriesEndedAt(before, Date.now() - 2 * 3_600_000, 3);
    await before.close();
    const server = await startPictor({ dataDir: fresh.dataDir, options: { secretKeys: TEST_SECRET[0]!.toString('base64'), webhookRetentionSeconds: '1h' } });
    try {
      const stores = await fresh.open();
      await eventually(async () => (await stores.webhooks.deliveries(webhookId, 100)).length === 1);
      assert.deepEqual((await stores.webhooks.deliveries(webhookId, 100)).map((each) => each.id), [pendingId]);
    } finally {
      await server.stop();
    }
  });
});
