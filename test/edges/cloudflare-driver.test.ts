import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { CLOUDFLARE_MAX_TAGS_PER_REQUEST, CloudflareDriver, type CloudflareSettings } from '../../src/edges/vendors/cloudflare.ts';
import { freePort } from '../helpers/ports.ts';
import { startCloudflareStandIn, type CloudflareStandIn } from './stand-ins/cloudflare.ts';

const ZONE = '023e105f4ecef8ad9ca31a8372d0c353';
const TOKEN = 'cf-token-Y2xvdWRmbGFyZQ';
const LOOPBACK = { outboundAllow: ['127.0.0.1/32'], timeoutMs: 5_000 };

const keys = (count: number, prefix = 'a'): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(20, '0')}`);
const order = (id: string, edgeKeys: string[]) => ({ id, keys: edgeKeys, urls: [] });

describe('the Cloudflare driver against a Cloudflare stand-in', () => {
  const open: { close(): Promise<void> }[] = [];
  async function setUp(standInOptions: { plan?: 'free' | 'pro' } = {}, settings: Partial<CloudflareSettings> = {}, allow = LOOPBACK) {
    const standIn: CloudflareStandIn = await startCloudflareStandIn({ zoneId: ZONE, apiToken: TOKEN, ...standInOptions });
    const driver = new CloudflareDriver({ zoneId: ZONE, apiToken: TOKEN, endpoint: standIn.endpoint, ...settings }, allow);
    open.push(driver, standIn);
    return { standIn, driver };
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((part) => part.close()));
  });
  after(async () => {
    await Promise.all(open.splice(0).map((part) => part.close()));
  });

  it('sends the keys as tags to the zone purge_cache with the bearer token and reports purged once confirmed', async () => {
    const { standIn, driver } = await setUp();
    const outcome = await driver.purge(order('purge-1:edge-1', ['a-1', 's-2', 'a-1']));
    assert.deepEqual(outcome, { state: 'purged' });
    assert.equal(standIn.requests.length, 1);
    const [request] = standIn.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, `/client/v4/zones/${ZONE}/purge_cache`);
    assert.equal(request!.headers.authorization, `Bearer ${TOKEN}`);
    assert.match(String(request!.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(request!.body), { tags: ['a-1', 's-2'] });
  });

  it('splits keys into requests of at most 100 tags, each accepted, every key sent once', async () => {
    const { standIn, driver } = await setUp();
    const all = keys(250);
    assert.deepEqual(await driver.purge(order('purge-2:edge-1', all)), { state: 'purged' });
    const sizes = standIn.requests.map((request) => (JSON.parse(request.body) as { tags: string[] }).tags.length);
    assert.deepEqual(sizes, [CLOUDFLARE_MAX_TAGS_PER_REQUEST, CLOUDFLARE_MAX_TAGS_PER_REQUEST, 50]);
    assert.deepEqual(standIn.purgedTags, all);
  });

  it('answers retry with the wait Cloudflare asks for when rate limited, and the retry sends only what is left', async () => {
    // The Free plan's bucket holds 25 requests and refills one every 12 s: the 26th batch is refused.
    const { standIn, driver } = await setUp({ plan: 'free' });
    const all = keys(26 * CLOUDFLARE_MAX_TAGS_PER_REQUEST);
    const outcome = await driver.purge(order('purge-3:edge-1', all));
    assert.equal(outcome.state, 'retry');
    // Retry-After is whole seconds until one token is back: at most 12 s, a little less on a slow run.
    const afterMs = outcome.state === 'retry' ? outcome.afterMs : undefined;
    assert.ok(afterMs !== undefined && afterMs > 0 && afterMs <= 12_000 && afterMs % 1000 === 0, `afterMs ${afterMs}`);
    assert.match(outcome.state === 'retry' ? outcome.error : '', /429.*Please wait and consider throttling your request speed \(971\)/);
    assert.equal(standIn.requests.length, 26);

    const again = await driver.purge(order('purge-3:edge-1', all));
    assert.equal(again.state, 'retry');
    assert.equal(standIn.requests.length, 27, 'only the batch still to do is sent again');
    assert.deepEqual(JSON.parse(standIn.requests[26]!.body).tags, all.slice(25 * CLOUDFLARE_MAX_TAGS_PER_REQUEST));
  });

  it('answers retry on a 5xx and purged when Cloudflare is back', async () => {
    const { standIn, driver } = await setUp();
    standIn.failNext(503);
    const outcome = await driver.purge(order('purge-4:edge-1', ['a-1']));
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /Cloudflare answered 503/);
    assert.deepEqual(await driver.purge(order('purge-4:edge-1', ['a-1'])), { state: 'purged' });
  });

  it("fails for good with Cloudflare's message on a wrong token or an unknown zone", async () => {
    const { driver: wrongToken } = await setUp({}, { apiToken: 'not-the-token' });
    assert.deepEqual(await wrongToken.purge(order('purge-5:edge-1', ['a-1'])), {
      state: 'failed',
      error: 'Cloudflare answered 403: Authentication error (10000)',
    });
    const { driver: wrongZone } = await setUp({}, { zoneId: 'ffffffffffffffffffffffffffffffff' });
    const outcome = await wrongZone.purge(order('purge-5:edge-2', ['a-1']));
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.state === 'failed' ? outcome.error : '', /^Cloudflare answered 404: Could not route to \/zones\/f+\/purge_cache.*\(7003\)/);
  });

  it('answers retry when the API cannot be reached', async () => {
    const port = await freePort();
    const driver = new CloudflareDriver({ zoneId: ZONE, apiToken: TOKEN, endpoint: `http://127.0.0.1:${port}/client/v4` }, LOOPBACK);
    open.push(driver);
    const outcome = await driver.purge(order('purge-6:edge-1', ['a-1']));
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /Cloudflare could not be reached \(.*ECONNREFUSED/);
  });

  it('never sends the token to a private endpoint the outbound allow-list does not admit', async () => {
    const { standIn, driver } = await setUp({}, {}, { outboundAllow: [], timeoutMs: 5_000 });
    const outcome = await driver.purge(order('purge-7:edge-1', ['a-1']));
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.state === 'failed' ? outcome.error : '', /Outbound request refused: 127\.0\.0\.1 is not a public address \(loopback\)/);
    assert.equal(standIn.requests.length, 0);
  });

  it('reports an order without keys purged without a request', async () => {
    const { standIn, driver } = await setUp();
    assert.deepEqual(await driver.purge(order('purge-8:edge-1', [])), { state: 'purged' });
    assert.equal(standIn.requests.length, 0);
  });
});
