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
    const bytes = await solidImage(2, 2, [1, 2, 3], 'png');
    const escape = await upload('/..%2F..%2Fescape.png', bytes, 'image/png');
    assert.equal(escape.status, 400);
    const symlinked = await upload('/leads-out/inside.png', bytes, 'image/png');
    assert.equal(symlinked.status, 403);
    assert.match(symlinked.body.errors[0].detail, /outside the Source's folder/);
    const below = await upload('/leads-out/deeper/inside.png', bytes, 'image/png');
    assert.equal(below.status, 403);
    assert.deepEqual(await fs.readdir(outside), [], 'nothing written outside');
    assert.equal((await upload('/new', bytes, 'image/png')).status, 409, 'a folder is in the way');
    assert.equal((await upload('/existing.jpg/x.png', bytes, 'image/png')).status, 409, 'a file is in the way');
  });

  it('never replaces or follows a symlink inside the folder, even with ?overwrite=true (403)', async () => {
    const red = await solidImage(6, 6, [255, 0, 0], 'png');
    await fs.writeFile(path.join(t.assetsDir, 'target.png'), red);
    await fs.symlink('target.png', path.join(t.assetsDir, 'alias.png'));
    const blue = await solidImage(6, 6, [0, 0, 255], 'png');
    for (const query of ['?overwrite=true', '']) {
      const refused = await upload('/alias.png', blue, 'image/png', query);
      assert.equal(refused.status, 403, `${query}: ${JSON.stringify(refused.body)}`);
      assert.match(refused.body.errors[0].detail, /\/alias\.png is a symbolic link at the origin; an upload never replaces or follows one/);
    }
    assert.ok((await fs.lstat(path.join(t.assetsDir, 'alias.png'))).isSymbolicLink(), 'the link is still there');
    assert.equal(await fs.readlink(path.join(t.assetsDir, 'alias.png')), 'target.png');
    assert.ok((await fs.readFile(path.join(t.assetsDir, 'target.png'))).equals(red), 'its target is unchanged');
  });

  it('refuses a name over 255 bytes or a path over 1024 bytes with 400, before writing anything', async () => {
    const png = await solidImage(2, 2, [1, 2, 3], 'png');
    const long = await upload(`/${'a'.repeat(296)}.png`, png, 'image/png');
    assert.equal(long.status, 400, JSON.stringify(long.body));
    const tooLong = /^Invalid path: the name "a{40}…" is 300 bytes long \(UTF-8\); a file or folder name may have at most 255\.$/;
    assert.match(long.body.errors[0].detail, tooLong);
    const wide = await upload(`/${encodeURIComponent('é'.repeat(126))}.png`, png, 'image/png');
    assert.equal(wide.status, 400, 'bytes are counted, not characters');
    const deep = await upload(`${`/${'d'.repeat(200)}`.repeat(6)}/x.png`, png, 'image/png');
    assert.equal(deep.status, 400);
    assert.equal(deep.body.errors[0].detail, 'Invalid path: it is 1212 bytes long (UTF-8); an upload\'s path may have at most 1024.');
    assert.deepEqual((await fs.readdir(t.assetsDir)).filter((name) => name.length > 100), [], 'nothing written');
    const longest = await upload(`/${'b'.repeat(251)}.png`, png, 'image/png');
    assert.equal(longest.status, 201, 'a name of 255 bytes is taken');
  });

  it('refuses bytes that are no media with 415 naming what they are, whatever the name and type say', async () => {
    const page = Buffer.from('<!doctype html><html><body><script>document.title = "ran"</script></body></html>');
    for (const name of ['x.html', 'x.png']) {
      const refused = await upload(`/${name}`, page, 'image/png');
      assert.equal(refused.status, 415, name);
      const detail = 'The file\'s bytes are an HTML document, not an image, a video, audio or a PDF: only those can be uploaded.';
      assert.equal(refused.body.errors[0].detail, detail);
      await assert.rejects(fs.stat(path.join(t.assetsDir, name)), name);
      assert.equal((await rawGet(t.renderPort, `/${name}`)).status, 404, name);
    }
    const json = await upload('/data.json', Buffer.from('{"a":1}'), 'application/json');
    assert.equal(json.status, 415);
    assert.match(json.body.errors[0].detail, /bytes are JSON/);
  });

  it('refuses a Content-Type or a name that would misrepresent the bytes (415)', async () => {
    const png = await solidImage(4, 4, [0, 128, 0], 'png');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
    const cases: [string, Buffer, string, RegExp][] = [
      ['/typed.png', png, 'text/html', /bytes are a PNG image, but its Content-Type says text\/html: send image\/png \(or another image type\)/],
      ['/typed.png', png, 'image/svg+xml', /says image\/svg\+xml/],
      ['/named.html', png, 'image/png', /bytes are a PNG image, which a name ending in "\.html" would misrepresent: name it \.png/],
      ['/named.svg', png, 'image/png', /name ending in "\.svg"/],
      ['/named.mp4', png, 'image/png', /name ending in "\.mp4"/],
      ['/.htaccess', png, 'image/png', /name ending in "\.htaccess"/],
      ['/vector.png', svg, 'image/png', /bytes are an SVG image, but its Content-Type says image\/png: send image\/svg\+xml/],
    ];
    for (const [name, body, type, message] of cases) {
      const refused = await upload(name, body, type);
      assert.equal(refused.status, 415, `${name} as ${type}`);
      assert.match(refused.body.errors[0].detail, message, name);
    }
    assert.equal((await upload('/other-image-type.jpg', png, 'image/jpeg')).status, 201, 'another type of the same family is no danger');
    assert.equal((await upload('/no-extension', png, 'application/octet-stream')).status, 201);
  });

  it('takes an SVG with a script, which the render listener only ever serves rasterised', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><script>alert(1)</script><rect width="8"/></svg>');
    assert.equal((await upload('/scripted.svg', svg, 'image/svg+xml')).status, 201);
    const served = await rawGet(t.renderPort, '/scripted.svg');
    assert.equal(served.status, 200);
    assert.equal(served.headers['content-type'], 'image/png');
    assert.equal((await sharp(served.body).metadata()).format, 'png');
    assert.equal((await rawGet(t.renderPort, '/scripted.svg?fm=svg')).status, 400, 'there is no SVG output');
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

  it('stores the type the bytes are for application/octet-stream, and no object for a page dressed as an image', async () => {
    const png = await solidImage(4, 4, [0, 0, 255], 'png');
    assert.equal((await upload('/untyped', png, 'application/octet-stream')).status, 201);
    const object = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'site/untyped' }));
    assert.equal(object.ContentType, 'image/png');
    await object.Body!.transformToByteArray();
    const page = await upload('/page.png', Buffer.from('<html><script>alert(1)</script></html>'), 'image/png');
    assert.equal(page.status, 415);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'site/page.png' })), /NoSuchKey|does not exist/);
  });
});
