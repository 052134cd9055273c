import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { apiCaller, createKey } from './client.ts';

/** Derivatives of one asset, each cached before the refresh: all must show the new bytes after it. */
const DERIVATIVES = ['/photo.jpg', '/photo.jpg?w=10', '/photo.jpg?w=20&fm=png', '/photo.jpg?w=8&h=8&fit=crop&fm=webp'];

describe('Assets API: refresh', () => {
  let t: TestPictor;
  let call: ReturnType<typeof apiCaller>;
  let base: string;
  const refreshed: string[] = [];

  before(async () => {
    t = await startPictor({ assets: { 'photo.jpg': await solidImage(40, 30, [255, 0, 0]), 'other.jpg': await solidImage(4, 4, [0, 0, 0]) } });
    call = apiCaller(t);
    base = `/api/v1/sources/${t.defaultSourceId}/assets`;
    t.pictor.assets!.onRefresh(async (sourceId, path) => {
      refreshed.push(`${sourceId}${path}`);
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('after replacing the file, refresh answers the new asset and every derivative is the new bytes', async () => {
    for (const url of DERIVATIVES) {
      const [red, , blue] = await meanColour((await rawGet(t.renderPort, url)).body);
      assert.ok(red > 200 && blue < 50, `${url}: red`);
      assert.match(String((await rawGet(t.renderPort, url)).headers['cache-status']), /hit/, `${url} is cached`);
    }
    const before = (await call('GET', `${base}/photo.jpg`, t.apiKey)).body.data.attributes;
    assert.equal(before.media_width, 40);

    await t.put('photo.jpg', await solidImage(60, 20, [0, 0, 255]));
    for (const url of DERIVATIVES) assert.equal((await meanColour((await rawGet(t.renderPort, url)).body))[0] > 200, true, `${url}: still the cached red before the refresh`);

    const { status, body } = await call('POST', `${base}/refresh/photo.jpg`, t.apiKey);
    assert.equal(status, 200, JSON.stringify(body));
    const attributes = body.data.attributes;
    assert.equal(attributes.media_width, 60);
    assert.equal(attributes.media_height, 20);
    assert.equal(attributes.file_size, (await solidImage(60, 20, [0, 0, 255])).length);
    assert.ok(attributes.date_modified >= before.date_modified);
    assert.deepEqual(refreshed, [`${t.defaultSourceId}/photo.jpg`], 'the refresh listener ran before the answer');

    for (const url of DERIVATIVES) {
      const response = await rawGet(t.renderPort, url);
      assert.equal(response.status, 200, url);
      const [red, , blue] = await meanColour(response.body);
      assert.ok(blue > 200 && red < 50, `${url}: the new bytes`);
    }
    const { width, height } = await sharp((await rawGet(t.renderPort, '/photo.jpg?w=30')).body).metadata();
    assert.deepEqual([width, height], [30, 10], 'rendered from the new master');
  });

  it('an asset gone from its origin: purged, forgotten and answered 404', async () => {
    assert.equal((await rawGet(t.renderPort, '/other.jpg?w=2')).status, 200);
    assert.equal((await call('POST', `${base}/add/other.jpg`, t.apiKey)).status, 202);
    await t.remove('other.jpg');
    assert.equal((await rawGet(t.renderPort, '/other.jpg?w=2')).status, 200, 'cached');
    const { status, body } = await call('POST', `${base}/refresh/other.jpg`, t.apiKey);
    assert.equal(status, 404);
    assert.match(body.errors[0].detail, /no longer at the origin: every cached output of it was purged/);
    assert.equal((await call('GET', `${base}/other.jpg`, t.apiKey)).status, 404);
    assert.equal((await rawGet(t.renderPort, '/other.jpg?w=2')).status, 404);
  });

  it('refreshes are limited to 10 a minute per key: the 11th is 429 with Retry-After', async () => {
    const key = await createKey(t, ['assets-edit']);
    for (let i = 1; i <= 10; i++) assert.equal((await call('POST', `${base}/refresh/photo.jpg`, key)).status, 200, `refresh ${i}`);
    const limited = await call('POST', `${base}/refresh/photo.jpg`, key);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.match(limited.body.errors[0].detail, /Too many requests for this API key/);
    assert.equal((await call('POST', `${base}/refresh/photo.jpg`, t.apiKey)).status, 200, 'another key is not limited by it');
    assert.equal((await call('GET', `${base}/photo.jpg`, key)).status, 200, 'reading is not limited');
  });
});
