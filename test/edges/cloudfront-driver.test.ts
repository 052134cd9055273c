import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CLOUDFRONT_MAX_WILDCARD_PATHS, CloudFrontDriver, invalidationPaths, type CloudFrontSettings } from '../../src/edges/vendors/cloudfront.ts';
import { freePort } from '../helpers/ports.ts';
import { startCloudFrontStandIn, type CloudFrontStandInOptions } from './stand-ins/cloudfront.ts';

const CREDENTIALS = {
  distributionId: 'E2QWRUHAPOMQZL',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const LOOPBACK = { outboundAllow: ['127.0.0.1/32'], timeoutMs: 5_000 };

type Url = { host: string; path: string; prefix: boolean };
const asset = (path: string): Url => ({ host: 'img.example.com', path, prefix: false });
const folder = (path: string): Url => ({ host: 'img.example.com', path, prefix: true });
const order = (id: string, urls: Url[]) => ({ id, keys: ['a-1'], urls });

describe('invalidationPaths', () => {
  it('makes every URL space a wildcard path, a whole Source /*, without paths another one covers, sorted', () => {
    assert.deepEqual(invalidationPaths([asset('/photos/cat.jpg'), folder('/icons/'), asset('/icons/a.png'), asset('/photos/cat.jpg')]), [
      '/icons/*',
      '/photos/cat.jpg*',
    ]);
    assert.deepEqual(invalidationPaths([folder('/'), asset('/a.jpg')]), ['/*']);
    assert.deepEqual(invalidationPaths([]), []);
  });

  it('percent-encodes what CloudFront needs encoded, a literal * included, and keeps existing escapes', () => {
    assert.deepEqual(invalidationPaths([asset('/a b/é*.jpg'), asset('/x%20y.jpg')]), ['/a%20b/%C3%A9%2A.jpg*', '/x%20y.jpg*']);
  });

  it('collapses more paths than the wildcard limit into the folders that cover them', () => {
    const many = [...Array.from({ length: 20 }, (_, i) => asset(`/a/b/${i}.jpg`)), ...Array.from({ length: 10 }, (_, i) => asset(`/c/${i}.jpg`))];
    const paths = invalidationPaths(many);
    assert.ok(paths.length <= CLOUDFRONT_MAX_WILDCARD_PATHS);
    // The deepest paths are lifted first: the twenty under /a/b/ become one, the ten under /c/ then fit.
    assert.deepEqual(paths, ['/a/b/*', ...Array.from({ length: 10 }, (_, i) => `/c/${i}.jpg*`)]);
    const more = invalidationPaths([...many, ...Array.from({ length: 10 }, (_, i) => asset(`/d/${i}.jpg`))]);
    assert.deepEqual(more, ['/a/*', '/c/*', '/d/*']);
    const everywhere = invalidationPaths(Array.from({ length: 40 }, (_, i) => asset(`/f${i}/x.jpg`)));
    assert.deepEqual(everywhere, ['/*']);
  });
});

describe('the CloudFront driver, through the AWS SDK, against a CloudFront stand-in', () => {
  const open: { close(): Promise<void> }[] = [];
  async function setUp(settings: Partial<CloudFrontSettings> = {}, standIn: Partial<CloudFrontStandInOptions> = {}, allow = LOOPBACK) {
    const api = await startCloudFrontStandIn({ ...CREDENTIALS, ...standIn });
    const driver = new CloudFrontDriver({ ...CREDENTIALS, endpoint: api.endpoint, ...settings }, allow);
    open.push(driver, api);
    return { api, driver };
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((part) => part.close()));
  });

  it('creates one invalidation of the paths under the order id, answers pending, and purged once it is Completed', async () => {
    const { api, driver } = await setUp({}, { completeAfterPolls: 2 });
    const outcome = await driver.purge(order('purge-1:edge-1', [asset('/photos/cat.jpg'), folder('/icons/')]));
    assert.equal(outcome.state, 'pending');
    const [request] = api.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, `/2020-05-31/distribution/${CREDENTIALS.distributionId}/invalidation`);
    const credential = /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/cloudfront\/aws4_request/;
    assert.match(String(request!.headers.authorization), credential);
    assert.deepEqual(api.invalidations.map(({ reference, paths }) => ({ reference, paths })), [
      { reference: 'purge-1:edge-1', paths: ['/icons/*', '/photos/cat.jpg*'] },
    ]);
    const vendorId = outcome.state === 'pending' ? outcome.vendorId : '';
    assert.equal(vendorId, api.invalidations[0]!.id);

    assert.deepEqual(await driver.poll(vendorId), { state: 'pending', vendorId });
    assert.deepEqual(await driver.poll(vendorId), { state: 'purged' });
    assert.equal(api.requests[1]!.method, 'GET');
    assert.equal(api.requests[1]!.path, `/2020-05-31/distribution/${CREDENTIALS.distributionId}/invalidation/${vendorId}`);
  });

  it('gets the same invalidation back when the same order is purged again', async () => {
    const { api, driver } = await setUp();
    const first = await driver.purge(order('purge-2:edge-1', [folder('/icons/')]));
    const again = await driver.purge(order('purge-2:edge-1', [folder('/icons/')]));
    assert.equal(first.state, 'pending');
    assert.deepEqual(again, first);
    assert.equal(api.invalidations.length, 1);
  });

  for (const referenceConflict of ['InvalidArgument', 'InvalidationBatchAlreadyExists'] as const) {
    it(`makes a new invalidation when the order id already names one of other paths (${referenceConflict})`, async () => {
      const { api, driver } = await setUp({}, { referenceConflict });
      const stale = await driver.purge(order('purge-3:edge-1', [folder('/old/')]));
      const fresh = await driver.purge(order('purge-3:edge-1', [folder('/new/')]));
      assert.equal(fresh.state, 'pending');
      assert.notDeepEqual(fresh, stale);
      assert.deepEqual(api.invalidations.at(-1)!.paths, ['/new/*']);
      assert.match(api.invalidations.at(-1)!.reference, /^purge-3:edge-1#[0-9a-f]{16}$/);
      assert.deepEqual(await driver.purge(order('purge-3:edge-1', [folder('/new/')])), fresh, 'the new reference is as idempotent');
      assert.equal(api.invalidations.length, 2);
    });
  }

  it('answers retry while too many wildcard invalidations are in progress', async () => {
    const { api, driver } = await setUp({}, { completeAfterPolls: 1 });
    const fifteen = Array.from({ length: CLOUDFRONT_MAX_WILDCARD_PATHS }, (_, i) => folder(`/f${i}/`));
    const full = await driver.purge(order('purge-4:edge-1', fifteen));
    assert.equal(full.state, 'pending');
    const refused = await driver.purge(order('purge-4:edge-2', [folder('/more/')]));
    assert.equal(refused.state, 'retry');
    assert.match(refused.state === 'retry' ? refused.error : '', /^CloudFront answered 400: TooManyInvalidationsInProgress/);
    assert.deepEqual(await driver.poll(full.state === 'pending' ? full.vendorId : ''), { state: 'purged' });
    assert.equal((await driver.purge(order('purge-4:edge-2', [folder('/more/')]))).state, 'pending');
    assert.equal(api.invalidations.length, 2);
  });

  it('answers retry when throttled, on a 5xx and when the API cannot be reached', async () => {
    const { api, driver } = await setUp({}, { bucket: { size: 1, refillPerSecond: 0.001 } });
    assert.equal((await driver.purge(order('purge-5:edge-1', [folder('/a/')]))).state, 'pending');
    assert.deepEqual(await driver.purge(order('purge-5:edge-2', [folder('/b/')])), {
      state: 'retry',
      error: 'CloudFront answered 400: Throttling: Rate exceeded',
    });
    api.failNext(503);
    assert.deepEqual(await driver.purge(order('purge-5:edge-3', [folder('/c/')])), {
      state: 'retry',
      error: 'CloudFront answered 503: ServiceUnavailable: Service Unavailable',
    });

    const port = await freePort();
    const unreachable = new CloudFrontDriver({ ...CREDENTIALS, endpoint: `http://127.0.0.1:${port}` }, LOOPBACK);
    open.push(unreachable);
    const outcome = await unreachable.purge(order('purge-5:edge-4', [folder('/d/')]));
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /CloudFront could not be reached \(.*ECONNREFUSED/);
  });

  it("fails for good with CloudFront's error on a wrong secret, an unknown key, an unknown distribution or invalidation", async () => {
    const { driver: wrongSecret } = await setUp({ secretAccessKey: 'not-the-secret' });
    const signature = await wrongSecret.purge(order('purge-6:edge-1', [folder('/a/')]));
    assert.equal(signature.state, 'failed');
    const mismatch = /^CloudFront answered 403: SignatureDoesNotMatch: The request signature we calculated/;
    assert.match(signature.state === 'failed' ? signature.error : '', mismatch);
    const { driver: wrongKey } = await setUp({ accessKeyId: 'AKIAUNKNOWNKEY000000' });
    assert.deepEqual(await wrongKey.purge(order('purge-6:edge-2', [folder('/a/')])), {
      state: 'failed',
      error: 'CloudFront answered 403: InvalidClientTokenId: The security token included in the request is invalid.',
    });
    const { driver: wrongDistribution } = await setUp({ distributionId: 'EUNKNOWN00000' });
    assert.deepEqual(await wrongDistribution.purge(order('purge-6:edge-3', [folder('/a/')])), {
      state: 'failed',
      error: 'CloudFront answered 404: NoSuchDistribution: The specified distribution does not exist.',
    });
    const { driver } = await setUp();
    assert.deepEqual(await driver.poll('INOSUCHINVALIDATION'), {
      state: 'failed',
      error: 'CloudFront answered 404: NoSuchInvalidation: The specified invalidation does not exist.',
    });
  });

  it('never signs a request to a private endpoint the outbound allow-list does not admit', async () => {
    const { api, driver } = await setUp({}, {}, { outboundAllow: [], timeoutMs: 5_000 });
    const outcome = await driver.purge(order('purge-7:edge-1', [folder('/a/')]));
    assert.equal(outcome.state, 'failed');
    assert.match(outcome.state === 'failed' ? outcome.error : '', /Outbound request refused: 127\.0\.0\.1 is not a public address \(loopback\)/);
    assert.equal(api.requests.length, 0);
  });

  it('reports an order without URLs purged without a request', async () => {
    const { api, driver } = await setUp();
    assert.deepEqual(await driver.purge(order('purge-8:edge-1', [])), { state: 'purged' });
    assert.equal(api.requests.length, 0);
  });
});
