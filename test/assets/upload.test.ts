import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import sharp from 'sharp';
import { meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { apiCaller } from './client.ts';

// s3rver's only account: access key S3RVER, secret S3RVER.
const S3_KEY = 'S3RVER';

describe('Assets API: uploads to a folder Source', () => {
  let t: TestPictor;
  let call: ReturnType<typeof apiCaller>;
  let outside: string;
  let upload: (assetPath: string, body: Buffer | undefined, contentType?: string, query?: string) => ReturnType<ReturnType<typeof apiCaller>>;

  before(async () => {
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-upload-outside-'));
    t = await startPictor({ assets: { 'existing.jpg': await solidImage(8, 8, [255, 0, 0]) } });
    await fs.symlink(outside, path.join(t.assetsDir, 'leads-out'));
    call = apiCaller(t);
    upload = (assetPath, body, contentType, query = '') =>
      call('POST', `/api/v1/sources/${t.defaultSourceId}/upload${assetPath}${query}`, t.apiKey, body, contentType === undefined ? {} : { 'content-type': contentType });
  });
  after(async () => {
    await t?.stop();
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('writes the file, indexes it (201, Location) and serves it, in new folders too', async () => {
    const png = await solidImage(30, 12, [0, 255, 0], 'png');
    const { status, headers, body } = await upload('/new/dir/green%20one.png', png, 'image/png');
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(headers.get('location'), `/api/v1/sources/${t.defaultSourceId}/assets/new/dir/green%20one.png`);
    assert.equal(body.data.attributes.origin_path, '/new/dir/green%20one.png');
    assert.deepEqual([body.data.attributes.media_width, body.data.attributes.media_height, body.data.attributes.file_size], [30, 12, png.length]);
    assert.ok((await fs.readFile(path.join(t.assetsDir, 'new/dir/green one.png'))).equals(png));
    const rendered = await rawGet(t.renderPort, '/new/dir/green%20one.png?w=15');
    assert.equal(rendered.status, 200);
    assert.equal((await sharp(rendered.body).metadata()).width, 15);
    assert.equal((await call('GET', `/api/v1/sources/${t.defaultSourceId}/assets/new/dir/green%20one.png`, t.apiKey)).status, 200);
  });

  it('an upload over a cached 404 is served at once', async () => {
    assert.equal((await rawGet(t.renderPort, '/late.jpg?w=4')).status, 404);
    assert.equal((await rawGet(t.renderPort, '/late.jpg?w=4')).status, 404, 'the 404 is cached');
    assert.equal((await upload('/late.jpg', await solidImage(8, 8, [0, 0, 255]), 'image/jpeg')).status, 201);
    assert.equal((await rawGet(t.renderPort, '/late.jpg?w=4')).status, 200);
  });

  it('an existing file is 409 unless ?overwrite=true, which replaces it everywhere (200)', async () => {
    assert.equal((await rawGet(t.renderPort, '/existing.jpg?w=4')).status, 200);
    const blue = await solidImage(10, 10, [0, 0, 255]);
    const refused = await upload('/existing.jpg', blue, 'image/jpeg');
    assert.equal(refused.status, 409);
    assert.match(refused.body.errors[0].detail, /already exists at the origin; add \?overwrite=true/);
    const replaced = await upload('/existing.jpg', blue, 'image/jpeg', '?overwrite=true');
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.data.attributes.media_width, 10);
    const [red, , b] = await meanColour((await rawGet(t.renderPort, '/existing.jpg?w=4')).body);
    assert.ok(b > 200 && red < 50, 'the cached derivative was purged');
    assert.equal((await upload('/existing.jpg', blue, 'image/jpeg', '?overwrite=yes')).status, 400);
  });

  it('never writes outside the Source\'s folder', async () => {
    const bytes = Buffer.from('x');
    const escape = await upload('/..%2F..%2Fescape.txt', bytes, 'text/plain');
    assert.equal(escape.status, 400);
    const symlinked = await upload('/leads-out/inside.txt', bytes, 'text/plain');
    assert.equal(symlinked.status, 403);
    assert.match(symlinked.body.errors[0].detail, /outside the Source's folder/);
    const below = await upload('/leads-out/deeper/inside.txt', bytes, 'text/plain');
    assert.equal(below.status, 403);
    assert.deepEqual(await fs.readdir(outside), [], 'nothing written outside');
    assert.equal((await upload('/new', bytes, 'text/plain')).status, 409, 'a folder is in the way');
    assert.equal((await upload('/existing.jpg/x.txt', bytes, 'text/plain')).status, 409, 'a file is in the way');
  });

  it('refuses a missing or form content type (415), an empty body (400) and more than 30 MB (413)', async () => {
    const bytes = Buffer.from('x');
    const untyped = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/upload/untyped.bin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}` },
      body: new Uint8Array(bytes),
    });
    assert.equal(untyped.status, 415);
    assert.match(((await untyped.json()) as { errors: { detail: string }[] }).errors[0]!.detail, /Send the file's type as Content-Type/);
    assert.equal((await upload('/form.bin', bytes, 'multipart/form-data; boundary=x')).status, 415);
    assert.equal((await upload('/empty.txt', Buffer.alloc(0), 'text/plain')).status, 400);
    const big = await upload('/big.bin', Buffer.alloc(30 * 1024 * 1024 + 1), 'application/octet-stream');
    assert.equal(big.status, 413);
    assert.match(big.body.errors[0].detail, /at most 30 MB/);
    await assert.rejects(fs.stat(path.join(t.assetsDir, 'big.bin')));
    assert.equal((await upload('/json.json', Buffer.from('{"a":1}'), 'application/json')).status, 201, 'JSON is a file like any other here');
  });

  it('a Source that cannot take uploads (webfolder) is 400', async () => {
    const created = await call('POST', '/api/v1/sources', t.apiKey, {
      data: { type: 'sources', attributes: { name: 'web', deployment: { type: 'webfolder', webfolder_base_url: 'https://images.example.com/' } } },
    });
    const refused = await call('POST', `/api/v1/sources/${created.body.data.id}/upload/a.png`, t.apiKey, Buffer.from('x'), { 'content-type': 'image/png' });
    assert.equal(refused.status, 400);
    assert.match(refused.body.errors[0].detail, /Uploads go to folder, s3, s3_compatible and gcs Sources; this Source is of type "webfolder"/);
  });
});

describe('Assets API: uploads to an S3 Source (s3rver)', () => {
  let server: S3rver;
  let directory: string;
  let s3: S3Client;
  let t: TestPictor;
  let call: ReturnType<typeof apiCaller>;
  let sourceId: string;

  before(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-s3rver-upload-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: 'media' }] });
    const endpoint = `http://127.0.0.1:${(await server.run()).port}`;
    s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY } });
    t = await startPictor({ options: { outboundAllow: '127.0.0.1/32' } });
    call = apiCaller(t);
    const deployment = { type: 's3_compatible', bucket_name: 'media', prefix: 'site', access_key: S3_KEY, secret_key: S3_KEY, endpoint, custom_domains: ['media.test'] };
    const created = await call('POST', '/api/v1/sources', t.apiKey, { data: { type: 'sources', attributes: { name: 'bucket', deployment } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    sourceId = created.body.data.id;
  });
  after(async () => {
    await t?.stop();
    s3?.destroy();
    await server?.close();
    await fs.rm(directory, { recursive: true, force: true });
  });

  const upload = (assetPath: string, body: Buffer, contentType: string, query = '') =>
    call('POST', `/api/v1/sources/${sourceId}/upload${assetPath}${query}`, t.apiKey, body, { 'content-type': contentType });

  it('puts the object under the prefix with its content type, indexes and serves it; 409, then overwrite', async () => {
    const red = await solidImage(24, 16, [255, 0, 0], 'png');
    const { status, body } = await upload('/up/a%20b.png', red, 'image/png');
    assert.equal(status, 201, JSON.stringify(body));
    assert.deepEqual([body.data.attributes.media_width, body.data.attributes.content_type], [24, 'image/png']);
    const object = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'site/up/a b.png' }));
    assert.equal(object.ContentType, 'image/png');
    assert.ok(Buffer.from(await object.Body!.transformToByteArray()).equals(red));
    const rendered = await rawGet(t.renderPort, '/up/a%20b.png?w=12', { host: 'media.test' });
    assert.equal(rendered.status, 200);
    assert.equal((await sharp(rendered.body).metadata()).width, 12);

    const green = await solidImage(24, 16, [0, 255, 0], 'png');
    assert.equal((await upload('/up/a%20b.png', green, 'image/png')).status, 409);
    assert.equal((await upload('/up/a%20b.png', green, 'image/png', '?overwrite=true')).status, 200);
    const [r, g] = await meanColour((await rawGet(t.renderPort, '/up/a%20b.png?w=12', { host: 'media.test' })).body);
    assert.ok(g > 200 && r < 50, 'the new object is served');
  });
});
