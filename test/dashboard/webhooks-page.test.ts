import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';
import { DashboardClient } from './http-client.ts';

describe('dashboard: Webhooks', () => {
  let t: TestPictor;
  let receiver: Receiver;
  let client: DashboardClient;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(10, 10, [9, 9, 9]) }, options: { outboundAllow: '127.0.0.1/32' } });
    receiver = await startReceiver();
    client = new DashboardClient(t.adminUrl);
    await client.signIn('admin', t.adminPassword);
  });
  after(async () => {
    await receiver?.stop();
    await t?.stop();
  });

  it('adds a webhook showing its secret once, lists deliveries with their attempts, redelivers and removes, each with the CSRF token', async () => {
    const csrf = await client.csrf('/dashboard/webhooks');
    const refused = await client.post('/dashboard/webhooks', { _csrf: csrf, url: receiver.url, events: [] });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /&quot;events&quot; must be a non-empty list|"events" must be a non-empty list/);

    const added = await client.post('/dashboard/webhooks', { _csrf: csrf, url: receiver.url, events: ['purge.completed'] });
    assert.equal(added.status, 303);
    const page = await client.get('/dashboard/webhooks');
    receiver.secret = /<code data-secret>(whsec_[^<]+)<\/code>/.exec(page.text)?.[1] ?? '';
    assert.match(receiver.secret, /^whsec_/);
    assert.doesNotMatch((await client.get('/dashboard/webhooks')).text, /whsec_/, 'shown once');

    const purgeId = (await t.purge(`${t.renderUrl}/a.jpg`)).body.data!.id;
    await eventually(() => receiver.received.some((message) => message.data.purge_id === purgeId));
    let listing = '';
    await eventually(async () => /HTTP 204/.test((listing = (await client.get('/dashboard/webhooks')).text)));
    const [, webhookId, deliveryId] = /action="\/dashboard\/webhooks\/(wh_\w+)\/deliveries\/(dlv_\w+)\/redeliver"/.exec(listing) ?? [];
    assert.ok(deliveryId);

    const forged = await client.post(`/dashboard/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`, { _csrf: 'x'.repeat(43) });
    assert.equal(forged.status, 403);
    assert.equal((await client.post(`/dashboard/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`, { _csrf: csrf })).status, 303);
    await eventually(() => receiver.received.length === 2);
    assert.equal(receiver.received[1]!.id, receiver.received[0]!.id);

    assert.equal((await client.post(`/dashboard/webhooks/${webhookId}/remove`, { _csrf: csrf })).status, 303);
    assert.match((await client.get('/dashboard/webhooks')).text, /No webhooks yet/);
  });
});
