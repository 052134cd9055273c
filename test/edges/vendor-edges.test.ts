import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { purgeStatus, requestPurge, waitForPurge, type PurgeApi } from '../helpers/purges.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';
import { startCloudflareStandIn } from './stand-ins/cloudflare.ts';
import { startCloudFrontStandIn } from './stand-ins/cloudfront.ts';
import { startFastlyStandIn } from './stand-ins/fastly.ts';

const ZONE = '023e105f4ecef8ad9ca31a8372d0c353';
const SERVICE = 'SU1Z0isxPaozGVKXdv0eY';
const AWS = { distributionId: 'E2QWRUHAPOMQZL', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

type EdgeState = { name: string; kind: string; state: string; vendor_id: string | null; error: string | null; attempts: number };

/**
 * Cloudflare, Fastly and CloudFront edges end to end: added through the API with `endpoint` at a stand-in of
 * the vendor's API (a real HTTP server on loopback, admitted by --outbound-allow), then a purge through Pictor
 * reaches the stand-in exactly as the vendor documents it, and the purge's status follows the vendor's answers.
 */
describe('CDN edges through their APIs, from the Edges API to the vendor', () => {
  let t: TestPictor;
  let api: PurgeApi;
  const closers: (() => Promise<void>)[] = [];
  const send = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${t.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const addEdge = async (attributes: Record<string, unknown>): Promise<void> => {
    const response = await send('POST', '/api/v1/edges', { data: { type: 'edges', attributes } });
    assert.equal(response.status, 201, await response.text());
  };
  const removeEdge = async (name: string): Promise<void> => assert.equal((await send('DELETE', `/api/v1/edges/${name}`)).status, 204);
  /** Renders the asset through Pictor: the edge-key headers a CDN in front would have filed the response under. */
  const render = async (): Promise<Headers> => {
    const response = await fetch(`${t.renderUrl}/photos/cat.jpg?w=4`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    return response.headers;
  };
  const purge = async (): Promise<string> => {
    const { status, body } = await requestPurge(api, `${t.renderUrl}/photos/cat.jpg`);
    assert.equal(status, 200);
    return body.data!.id;
  };
  /** The asset's own key among a response's keys (`a-…`): the one an exact purge of the asset sends. */
  const assetKey = (keys: string[]): string => {
    const found = keys.filter((key) => key.startsWith('a-'));
    assert.equal(found.length, 1, keys.join(' '));
    return found[0]!;
  };

  before(async () => {
    t = await startPictor({
      assets: { 'photos/cat.jpg': await solidImage(8, 8, [200, 0, 0]) },
      options: { outboundAllow: '127.0.0.1/32', edgeRetrySeconds: '60' },
    });
    api = { adminUrl: t.adminUrl, apiKey: t.apiKey };
  });
  after(async () => {
    await t?.stop();
    for (const close of closers) await close();
  });

  it('Cloudflare: the purge sends the asset\'s cache tag to purge_cache with the token, and completes', async () => {
    const standIn = await startCloudflareStandIn({ zoneId: ZONE, apiToken: 'cf-token' });
    closers.push(() => standIn.close());
    await addEdge({ name: 'cf', kind: 'cloudflare', zone_id: ZONE, api_token: 'cf-token', endpoint: standIn.endpoint });
    const tag = assetKey((await render()).get('cache-tag')!.split(','));
    const done = await waitForPurge(api, await purge());
    assert.equal(done.status, 'completed');
    assert.deepEqual((done.edge_states as EdgeState[]).map((edge) => [edge.name, edge.kind, edge.state]), [['cf', 'cloudflare', 'purged']]);
    assert.equal(standIn.requests.length, 1);
    const [sent] = standIn.requests;
    assert.equal(sent!.path, `/client/v4/zones/${ZONE}/purge_cache`);
    assert.equal(sent!.headers.authorization, 'Bearer cf-token');
    assert.deepEqual(JSON.parse(sent!.body), { tags: [tag] });
    await removeEdge('cf');
  });

  it('Fastly: the purge sends the asset\'s surrogate key, softly when asked, with the token, and completes', async () => {
    const standIn = await startFastlyStandIn({ serviceId: SERVICE, apiToken: 'fastly-token' });
    closers.push(() => standIn.close());
    await addEdge({ name: 'fastly', kind: 'fastly', service_id: SERVICE, api_token: 'fastly-token', soft_purge: true, endpoint: standIn.endpoint });
    const key = assetKey((await render()).get('surrogate-key')!.split(' '));
    const done = await waitForPurge(api, await purge());
    assert.equal(done.status, 'completed');
    assert.deepEqual((done.edge_states as EdgeState[]).map((edge) => [edge.name, edge.kind, edge.state]), [['fastly', 'fastly', 'purged']]);
    assert.equal(standIn.requests.length, 1);
    const [sent] = standIn.requests;
    assert.equal(sent!.path, `/service/${SERVICE}/purge`);
    assert.deepEqual([sent!.headers['fastly-key'], sent!.headers['fastly-soft-purge']], ['fastly-token', '1']);
    assert.deepEqual(JSON.parse(sent!.body), { surrogate_keys: [key] });
    assert.deepEqual(standIn.purged, [{ key, soft: true }]);
    await removeEdge('fastly');
  });

  it('CloudFront: one invalidation of the asset\'s paths, pending until CloudFront completes it, then the purge completes', async () => {
    // Never completed by itself: the test completes it, as CloudFront would after a while.
    const standIn = await startCloudFrontStandIn({ ...AWS, completeAfterPolls: Number.MAX_SAFE_INTEGER });
    closers.push(() => standIn.close());
    await addEdge({
      name: 'cfront', kind: 'cloudfront', distribution_id: AWS.distributionId, access_key_id: AWS.accessKeyId,
      secret_access_key: AWS.secretAccessKey, endpoint: standIn.endpoint,
    });
    const id = await purge();
    await eventually(() => standIn.invalidations.length === 1 && standIn.invalidations[0]!.polls >= 1);
    const invalidation = standIn.invalidations[0]!;
    assert.deepEqual(invalidation.paths, ['/photos/cat.jpg*']);
    assert.equal(invalidation.reference, `${id}:cfront`);
    const pending = await purgeStatus(api, id);
    assert.equal(pending.status, 'pending');
    const [state] = pending.edge_states as EdgeState[];
    assert.deepEqual([state!.name, state!.kind, state!.state, state!.vendor_id], ['cfront', 'cloudfront', 'pending', invalidation.id]);
    invalidation.status = 'Completed';
    const done = await waitForPurge(api, id);
    assert.equal(done.status, 'completed');
    const [purged] = done.edge_states as EdgeState[];
    assert.deepEqual([purged!.state, purged!.vendor_id], ['purged', invalidation.id]);
    assert.equal(standIn.invalidations.length, 1, 'one invalidation, polled until it completed');
    await removeEdge('cfront');
  });

  describe('a CDN that refuses the purge', () => {
    let receiver: Receiver;
    before(async () => {
      receiver = await startReceiver();
      const attributes = { url: receiver.url, events: ['purge.failed'] };
      const created = await send('POST', '/api/v1/webhooks', { data: { type: 'webhooks', attributes } });
      assert.equal(created.status, 201);
      receiver.secret = ((await created.json()) as { data: { attributes: { secret: string } } }).data.attributes.secret;
    });
    after(() => receiver?.stop());

    it('fails the purge, naming the vendor\'s refusal, and the purge.failed webhook receives it', async () => {
      const standIn = await startCloudflareStandIn({ zoneId: ZONE, apiToken: 'the-right-token' });
      closers.push(() => standIn.close());
      await addEdge({ name: 'cf-refused', kind: 'cloudflare', zone_id: ZONE, api_token: 'a-revoked-token', endpoint: standIn.endpoint });
      const id = await purge();
      const done = await waitForPurge(api, id);
      assert.equal(done.status, 'failed');
      assert.match(String(done.error), /edge cf-refused \(cloudflare\) failed: Cloudflare answered 403/);
      await eventually(() => receiver.received.some((message) => message.data.purge_id === id));
      const message = receiver.received.find((each) => each.data.purge_id === id)!;
      assert.equal(message.type, 'purge.failed');
      assert.equal(message.data.status, 'failed');
      assert.match(String(message.data.error), /edge cf-refused \(cloudflare\) failed: Cloudflare answered 403/);
      assert.deepEqual(receiver.rejected, []);
      await removeEdge('cf-refused');
    });
  });
});
