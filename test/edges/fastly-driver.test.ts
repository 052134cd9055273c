import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FASTLY_MAX_KEYS_PER_REQUEST, FastlyDriver, type FastlySettings } from '../../src/edges/vendors/fastly.ts';
import { freePort } from '../helpers/ports.ts';
import { startFastlyStandIn, type FastlyStandInOptions } from './stand-ins/fastly.ts';

const SERVICE = 'SU1Z0isxPaozGVKXdv0eY';
const TOKEN = 'fastly-token-ZmFzdGx5';
const LOOPBACK = { outboundAllow: ['127.0.0.1/32'], timeoutMs: 5_000 };

const keys = (count: number): string[] => Array.from({ length: count }, (_, i) => `a-${String(i).padStart(20, '0')}`);
const order = (id: string, edgeKeys: string[]) => ({ id, keys: edgeKeys, urls: [] });

describe('the Fastly driver against a Fastly stand-in', () => {
  const open: { close(): Promise<void> }[] = [];
  async function setUp(settings: Partial<FastlySettings> = {}, standIn: Partial<FastlyStandInOptions> = {}) {
    const api = await startFastlyStandIn({ serviceId: SERVICE, apiToken: TOKEN, ...standIn });
    const driver = new FastlyDriver({ serviceId: SERVICE, apiToken: TOKEN, endpoint: api.endpoint, ...settings }, LOOPBACK);
    open.push(driver, api);
    return { api, driver };
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((part) => part.close()));
  });

  it("sends the keys as surrogate_keys to the service's purge with Fastly-Key and reports purged once every key has a purge id", async () => {
    const { api, driver } = await setUp();
    assert.deepEqual(await driver.purge(order('purge-1:edge-1', ['a-1', 'p-2'])), { state: 'purged' });
    assert.equal(api.requests.length, 1);
    const [request] = api.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, `/service/${SERVICE}/purge`);
    assert.equal(request!.headers['fastly-key'], TOKEN);
    assert.equal(request!.headers['fastly-soft-purge'], undefined);
    assert.match(String(request!.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(request!.body), { surrogate_keys: ['a-1', 'p-2'] });
    assert.deepEqual(api.purged, [
      { key: 'a-1', soft: false },
      { key: 'p-2', soft: false },
    ]);
  });

  it('asks for a soft purge with Fastly-Soft-Purge: 1 when the edge is set to soft purges', async () => {
    const { api, driver } = await setUp({ softPurge: true });
    assert.deepEqual(await driver.purge(order('purge-2:edge-1', ['a-1'])), { state: 'purged' });
    assert.equal(api.requests[0]!.headers['fastly-soft-purge'], '1');
    assert.deepEqual(api.purged, [{ key: 'a-1', soft: true }]);
  });

  it('splits keys into requests of at most 256, each accepted, every key sent once', async () => {
    const { api, driver } = await setUp();
    const all = keys(600);
    assert.deepEqual(await driver.purge(order('purge-3:edge-1', all)), { state: 'purged' });
    const sizes = api.requests.map((request) => (JSON.parse(request.body) as { surrogate_keys: string[] }).surrogate_keys.length);
    assert.deepEqual(sizes, [FASTLY_MAX_KEYS_PER_REQUEST, FASTLY_MAX_KEYS_PER_REQUEST, 88]);
    assert.deepEqual(
      api.purged.map((entry) => entry.key),
      all,
    );
  });

  it('answers retry, after the rate-limit window Fastly names, when rate limited', async () => {
    const { driver } = await setUp({}, { bucket: { size: 1, refillPerSecond: 0.5 } });
    assert.deepEqual(await driver.purge(order('purge-4:edge-1', ['a-1'])), { state: 'purged' });
    const outcome = await driver.purge(order('purge-4:edge-2', ['a-2']));
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /^Fastly answered 429: Too many requests/);
    // Fastly-RateLimit-Reset is whole Unix seconds, two seconds (one token) ahead, rounded up.
    const afterMs = outcome.state === 'retry' ? outcome.afterMs : undefined;
    assert.ok(afterMs !== undefined && afterMs > 0 && afterMs <= 3_000, `afterMs ${afterMs}`);
  });

  it('answers retry on a 5xx and when the API cannot be reached', async () => {
    const { api, driver } = await setUp();
    api.failNext(500);
    const outcome = await driver.purge(order('purge-5:edge-1', ['a-1']));
    assert.deepEqual(outcome, { state: 'retry', error: 'Fastly answered 500: Service unavailable' });
    assert.deepEqual(await driver.purge(order('purge-5:edge-1', ['a-1'])), { state: 'purged' });

    const port = await freePort();
    const unreachable = new FastlyDriver({ serviceId: SERVICE, apiToken: TOKEN, endpoint: `http://127.0.0.1:${port}` }, LOOPBACK);
    open.push(unreachable);
    const refused = await unreachable.purge(order('purge-5:edge-2', ['a-1']));
    assert.equal(refused.state, 'retry');
    assert.match(refused.state === 'retry' ? refused.error : '', /Fastly could not be reached \(.*ECONNREFUSED/);
  });

  it("fails for good with Fastly's message on a wrong token or an unknown service", async () => {
    const { driver: wrongToken } = await setUp({ apiToken: 'not-the-token' });
    assert.deepEqual(await wrongToken.purge(order('purge-6:edge-1', ['a-1'])), {
      state: 'failed',
      error: 'Fastly answered 401: Provided credentials are missing or invalid',
    });
    const { driver: wrongService } = await setUp({ serviceId: 'unknownService1' });
    assert.deepEqual(await wrongService.purge(order('purge-6:edge-2', ['a-1'])), {
      state: 'failed',
      error: "Fastly answered 404: Record not found (Cannot find service 'unknownService1')",
    });
  });

  it('never sends the token to a private endpoint the outbound allow-list does not admit', async () => {
    const api = await startFastlyStandIn({ serviceId: SERVICE, apiToken: TOKEN });
    const driver = new FastlyDriver({ serviceId: SERVICE, apiToken: TOKEN, endpoint: api.endpoint }, { outboundAllow: [] });
    open.push(driver, api);
    const outcome = await driver.purge(order('purge-7:edge-1', ['a-1']));
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.state === 'failed' ? outcome.error : '', /Outbound request refused/);
    // A host name is judged by the addresses it resolves to, when connecting.
    const endpoint = api.endpoint.replace('127.0.0.1', 'localhost');
    const byName = new FastlyDriver({ serviceId: SERVICE, apiToken: TOKEN, endpoint }, { outboundAllow: [] });
    open.push(byName);
    const named = await byName.purge(order('purge-7:edge-2', ['a-1']));
    assert.equal(named.state, 'failed');
    assert.match(named.state === 'failed' ? named.error : '', /Outbound request refused: localhost resolves to .*not a public address \(loopback\)/);
    assert.equal(api.requests.length, 0);
  });
});
