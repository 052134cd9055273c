import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import sharp from 'sharp';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const ImgixClient = createRequire(import.meta.url)('@imgix/js-core') as typeof import('@imgix/js-core').default;
const KEY = 'S3RVER';

async function colourAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

describe('Sources end to end: created over the API, served by Host, signed, and purged across Sources', () => {
  let t: TestPictor;
  let s3: S3rver;
  let s3Dir: string;
  let bucket: S3Client;
  let web: TestOrigin;
  let webImage: Buffer;
  const ids: Record<string, string> = {};

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${t.adminUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const createSource = async (name: string, deployment: Record<string, unknown>) => {
    const response = await api('POST', '/api/v1/sources', { data: { type: 'sources', attributes: { name, deployment } } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body.data;
  };
  const put = (Key: string, Body: Buffer) => bucket.send(new PutObjectCommand({ Bucket: 'media', Key, Body, ContentType: 'image/png' }));

  before(async () => {
    s3Dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-e2e-s3-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: s3Dir, silent: true });
    const endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
    bucket = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY }, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await bucket.send(new CreateBucketCommand({ Bucket: 'media' }));
    await put('brand/logo.png', await solidImage(40, 20, [220, 0, 0], 'png'));
    await put('photos/bucket.png', await solidImage(100, 50, [0, 200, 0], 'png'));

    webImage = await solidImage(120, 80, [0, 0, 200]);
    web = await startOrigin((request, response) => {
      if (request.url === '/images/web.jpg') {
        response.writeHead(200, { 'content-type': 'image/jpeg', etag: '"v1"' });
        response.end(webImage);
      } else if (request.url === '/images/to-private.jpg') {
        response.writeHead(302, { location: 'http://10.0.0.1/secret.jpg' });
        response.end();
      } else {
        response.writeHead(404);
        response.end();
      }
    });

    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(400, 300, [255, 255, 255]) },
      options: { outboundAllow: '127.0.0.1/32', purgeRateLimit: '1000' },
    });
    ids.s3 = (await createSource('brand assets', { type: 's3', s3_bucket: 'media', s3_access_key: KEY, s3_secret_key: 'top-secret-value', endpoint, custom_domains: ['brand.test'] })).id;
    ids.web = (await createSource('web', { type: 'webfolder', webfolder_base_url: `${web.url}/images/`, custom_domains: ['web.test'] })).id;
    const secure = await createSource('secure', { type: 'webfolder', webfolder_base_url: `${web.url}/images/`, custom_domains: ['secure.test'], secure_url_enabled: true });
    ids.secure = secure.id;
    ids.secureToken = secure.attributes.secure_url_token;
    const proxy = await createSource('proxy', { type: 'webproxy', custom_domains: ['proxy.test'] });
    ids.proxyToken = proxy.attributes.secure_url_token;
  });

  after(async () => {
    await t?.stop();
    await web?.close();
    bucket?.destroy();
    await s3?.close();
    await fs.rm(s3Dir, { recursive: true, force: true });
  });

  it('serves an s3 Source and a webfolder Source by Host, secrets never returned', async () => {
    const fromBucket = await rawGet(t.renderPort, '/photos/bucket.png?w=50', { host: 'brand.test' });
    assert.equal(fromBucket.status, 200);
    assert.deepEqual([(await sharp(fromBucket.body).metadata()).width], [50]);
    const fromWeb = await rawGet(t.renderPort, '/web.jpg?w=60&fm=png', { host: 'web.test:3000' });
    assert.equal(fromWeb.status, 200);
    assert.equal((await sharp(fromWeb.body).metadata()).width, 60);
    const listed = await api('GET', `/api/v1/sources/${ids.s3}`);
    assert.equal(JSON.stringify(listed.body).includes('top-secret-value'), false, 'no secret in the document');
  });

  it('refuses a redirect to a private address with a 4xx and never connects there', async () => {
    const response = await rawGet(t.renderPort, '/to-private.jpg', { host: 'web.test' });
    assert.ok(response.status >= 400 && response.status < 500, String(response.status));
  });

  it('requires signatures on a secure Source: 403 without or with a wrong s, 200 for @imgix/js-core URLs', async () => {
    const client = new ImgixClient({ domain: 'secure.example.com', secureURLToken: ids.secureToken! });
    (client as unknown as { settings: { domain: string } }).settings.domain = `127.0.0.1:${t.renderPort}`;
    const signed = new URL(client.buildURL('web.jpg', { w: 40, fm: 'png' }));
    const target = signed.href.slice(signed.origin.length);
    assert.equal((await rawGet(t.renderPort, target, { host: 'secure.test' })).status, 200);
    assert.equal((await rawGet(t.renderPort, '/web.jpg?w=40&fm=png', { host: 'secure.test' })).status, 403);
    assert.equal((await rawGet(t.renderPort, target.replace('w=40', 'w=41'), { host: 'secure.test' })).status, 403);
  });

  it('a webproxy Source always requires signing and fetches the URL in its path', async () => {
    const client = new ImgixClient({ domain: 'proxy.example.com', secureURLToken: ids.proxyToken! });
    (client as unknown as { settings: { domain: string } }).settings.domain = `127.0.0.1:${t.renderPort}`;
    const signed = new URL(client.buildURL(`${web.url}/images/web.jpg`, { w: 30 }));
    const target = signed.href.slice(signed.origin.length);
    const response = await rawGet(t.renderPort, target, { host: 'proxy.test' });
    assert.equal(response.status, 200);
    assert.equal((await sharp(response.body).metadata()).width, 30);
    assert.equal((await rawGet(t.renderPort, `/${encodeURIComponent(`${web.url}/images/web.jpg`)}?w=30`, { host: 'proxy.test' })).status, 403);
  });

  it('a mark from another Source: a sub_image purge with the parent Source re-renders every parent derivative', async () => {
    const mark = encodeURIComponent('http://brand.test/brand/logo.png');
    const parents = [`/photo.jpg?w=400&fm=png&mark=${mark}`, `/photo.jpg?w=200&fm=png&mark=${mark}`];
    for (const parent of parents) assert.equal((await rawGet(t.renderPort, parent)).status, 200);
    const before = await rawGet(t.renderPort, parents[0]!);
    assert.ok((await colourAt(before.body, 400 - 5 - 20, 300 - 5 - 10))[0]! > 180, 'red mark');

    await put('brand/logo.png', await solidImage(40, 20, [0, 0, 220], 'png'));
    const { status, body } = await t.purge('http://brand.test/brand/logo.png', { sub_image: true, source_id: t.defaultSourceId });
    assert.equal(status, 200);
    await t.waitForPurge(body.data!.id);
    assert.equal((await t.purgeStatus(body.data!.id)).origin, 'replaced');

    const first = await rawGet(t.renderPort, parents[0]!);
    assert.ok((await colourAt(first.body, 400 - 5 - 20, 300 - 5 - 10))[2]! > 180, 'blue mark at w=400');
    const second = await rawGet(t.renderPort, parents[1]!);
    assert.ok((await colourAt(second.body, 200 - 5 - 20, 150 - 5 - 10))[2]! > 180, 'blue mark at w=200');
  });

  it('disabling a Source answers 410 for assets not cached', async () => {
    await rawGet(t.renderPort, '/photos/bucket.png?w=20', { host: 'brand.test' });
    assert.equal((await api('PATCH', `/api/v1/sources/${ids.s3}`, { data: { type: 'sources', attributes: { enabled: false } } })).status, 200);
    assert.equal((await rawGet(t.renderPort, '/photos/bucket.png?w=21', { host: 'brand.test' })).status, 410);
    assert.equal((await rawGet(t.renderPort, '/photos/bucket.png?w=20', { host: 'brand.test' })).status, 200, 'cached assets are still served');
  });
});
