import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startReceiver, verify, type Receiver } from '../helpers/webhook-receiver.ts';

interface ApiResponse {
  status: number;
  body: any;
}

const webhookDocument = (attributes: unknown) => ({ data: { type: 'webhooks', attributes } });

describe('Webhooks', () => {
  let t: TestPictor;
  let receiver: Receiver;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(20, 20, [255, 0, 0]) }, options: { outboundAllow: '127.0.0.1/32' } });
    receiver = await startReceiver();
    api = async (method, path, body) => {
      const response = await fetch(`${t.adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${t.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };
  });
  after(async () => {
    await receiver?.stop();
    await t?.stop();
  });

  /** Adds a webhook for `events` at `url`; the receiver verifies with the secret Pictor generated. */
  async function addWebhook(events: string[], target: Receiver = receiver): Promise<string> {
    const created = await api('POST', '/api/v1/webhooks', webhookDocument({ url: target.url, events }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    target.secret = created.body.data.attributes.secret;
    return created.body.data.id;
  }

  const detail = (response: ApiResponse): string => response.body.errors[0].detail;

  it('refuses a webhook it could not deliver, with a message naming what is wrong', async () => {
    const unknown = await api('POST', '/api/v1/webhooks', webhookDocument({ url: receiver.url, events: ['purge.completed', 'purge.done'] }));
    assert.equal(unknown.status, 400);
    assert.match(detail(unknown), /unknown event types \("purge\.done"\); the events are: purge\.completed, purge\.failed, takedown\.created, takedown\.lifted, asset\.refreshed/);
    assert.equal((await api('POST', '/api/v1/webhooks', webhookDocument({ url: receiver.url, events: [] }))).status, 400);
    const shortSecret = await api('POST', '/api/v1/webhooks', webhookDocument({ url: receiver.url, events: ['purge.completed'], secret: `whsec_${Buffer.alloc(8).toString('base64')}` }));
    assert.equal(shortSecret.status, 400);
    assert.match(detail(shortSecret), /decodes to 8 bytes/);
    const plainHttp = await api('POST', '/api/v1/webhooks', webhookDocument({ url: 'http://203.0.113.9/hooks', events: ['purge.completed'] }));
    assert.equal(plainHttp.status, 400);
    assert.match(detail(plainHttp), /must be https:\/\//);
    const privateReceiver = await api('POST', '/api/v1/webhooks', webhookDocument({ url: 'https://10.1.2.3/hooks', events: ['purge.completed'] }));
    assert.equal(privateReceiver.status, 403);
    assert.match(detail(privateReceiver), /10\.1\.2\.3 is not a public address \(private \(RFC 1918\)\).*--outbound-allow/);
    assert.deepEqual((await api('GET', '/api/v1/webhooks')).body.data, []);
  });

  it('shows a generated secret once, and never again; takes a secret given', async () => {
    const created = await api('POST', '/api/v1/webhooks', webhookDocument({ url: receiver.url, events: ['takedown.created'] }));
    assert.equal(created.status, 201);
    assert.match(created.body.data.attributes.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.data.id;
    const read = await api('GET', `/api/v1/webhooks/${id}`);
    assert.deepEqual(read.body.data.attributes, { url: receiver.url, events: ['takedown.created'], created_at: created.body.data.attributes.created_at });
    assert.equal(JSON.stringify((await api('GET', '/api/v1/webhooks')).body).includes('whsec_'), false);
    const given = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const withSecret = await api('POST', '/api/v1/webhooks', webhookDocument({ url: receiver.url, events: ['takedown.created'], secret: given }));
    assert.equal(withSecret.body.data.attributes.secret, undefined, 'a secret the caller gave is not echoed');
    for (const each of [id, withSecret.body.data.id]) assert.equal((await api('DELETE', `/api/v1/webhooks/${each}`)).status, 204);
    assert.equal((await api('DELETE', `/api/v1/webhooks/${id}`)).status, 404);
  });

  it('delivers purge.completed once, signed, to a receiver that verifies it by the spec', async () => {
    const id = await addWebhook(['purge.completed']);
    try {
      const purge = await t.purge(`${t.renderUrl}/a.jpg`);
      assert.equal(purge.status, 200);
      const purgeId = purge.body.data!.id;
      await eventually(() => receiver.received.some((message) => message.data.purge_id === purgeId));
      const message = receiver.received.find((each) => each.data.purge_id === purgeId)!;
      assert.equal(message.type, 'purge.completed');
      assert.equal(message.data.status, 'completed');
      assert.equal(message.data.url, `${t.renderUrl}/a.jpg`);
      assert.match(message.id, /^msg_[0-9a-f]{32}$/);
      assert.deepEqual(receiver.rejected, []);
      // Nothing more arrives for it: deliveries settle as delivered, each message once.
      await eventually(async () => (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).body.data.every((each: any) => each.attributes.state === 'delivered'));
      assert.equal(receiver.counts().get(message.id), 1);

      // The receiver refuses the same message replayed with an old timestamp, and a forged body.
      const headers = { 'webhook-id': message.id, 'webhook-timestamp': String(message.timestamp - 600), 'webhook-signature': 'v1,x' };
      assert.equal(verify(receiver.secret, headers, message.body), 'the timestamp is too far from now');
      assert.equal(verify(receiver.secret, { ...headers, 'webhook-timestamp': String(message.timestamp) }, message.body), 'no signature matches');
    } finally {
      await api('DELETE', `/api/v1/webhooks/${id}`);
    }
  });

  it('tries again with a growing backoff after 500s, then delivers; every try is listed with its answer', async () => {
    const target = await startReceiver();
    try {
      const id = await addWebhook(['purge.completed'], target);
      target.answer = (_message, n) => (n < 2 ? { status: 500, body: `busy ${n}` } : { status: 200, body: 'ok' });
      const purgeId = (await t.purge(`${t.renderUrl}/a.jpg?retry`)).body.data!.id;
      await eventually(() => target.received.length >= 3);
      const tries = target.received.filter((message) => message.data.purge_id === purgeId);
      assert.equal(new Set(tries.map((message) => message.id)).size, 1, 'the same webhook-id on every try');
      assert.ok(tries[2]!.at - tries[1]!.at > tries[1]!.at - tries[0]!.at, 'the wait doubles (with jitter of a fifth either way)');
      let delivery: any;
      await eventually(async () => {
        delivery = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).body.data[0];
        return delivery.attributes.state === 'delivered';
      });
      assert.deepEqual(
        delivery.attributes.attempts.map((attempt: any) => [attempt.status, attempt.response, attempt.error]),
        [[500, 'busy 0', null], [500, 'busy 1', null], [200, 'ok', null]],
      );
      assert.equal(delivery.attributes.message_id, tries[0]!.id);

      // Redelivery sends the same message again now.
      const redelivered = await api('POST', `/api/v1/webhooks/${id}/deliveries/${delivery.id}/redeliver`);
      assert.equal(redelivered.status, 202);
      await eventually(() => target.received.length === 4);
      assert.equal(target.received[3]!.id, tries[0]!.id);
      assert.equal((await api('POST', `/api/v1/webhooks/${id}/deliveries/dlv_nope/redeliver`)).status, 404);
    } finally {
      await target.stop();
    }
  });

  it('reports takedowns created and lifted, and assets refreshed', async () => {
    const id = await addWebhook(['takedown.created', 'takedown.lifted', 'asset.refreshed']);
    try {
      const takedown = await api('POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/a.jpg`, reason: 'notice' } } });
      assert.equal(takedown.status, 201, JSON.stringify(takedown.body));
      assert.equal((await api('DELETE', `/api/v1/takedowns/${takedown.body.data.id}`)).status, 200);
      const refreshed = await api('POST', `/api/v1/sources/${t.defaultSourceId}/assets/refresh/a.jpg`);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const seen = (type: string) => receiver.received.filter((message) => message.type === type);
      await eventually(() => seen('takedown.created').length === 1 && seen('takedown.lifted').length === 1 && seen('asset.refreshed').length === 1);
      assert.equal(seen('takedown.created')[0]!.data.takedown_id, takedown.body.data.id);
      assert.equal(seen('takedown.lifted')[0]!.data.lifted_by, seen('takedown.created')[0]!.data.created_by);
      assert.deepEqual([seen('asset.refreshed')[0]!.data.origin_path, seen('asset.refreshed')[0]!.data.state], ['/a.jpg', 'indexed']);
    } finally {
      await api('DELETE', `/api/v1/webhooks/${id}`);
    }
  });
});
