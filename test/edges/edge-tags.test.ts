import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { assetScope, prefixScope, sourceScope } from '../../src/cache/freshness.ts';
import { contentEdgeKeys, edgeKey } from '../../src/edges/edge-keys.ts';
import { heldOrigin } from '../helpers/held-origin.ts';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

function keysOf(header: string | string[] | undefined): string[] {
  assert.equal(typeof header, 'string', 'an xkey header');
  return (header as string).split(' ');
}

describe('Edge keys on render responses', () => {
  let t: TestPictor;
  const origin = heldOrigin();
  let cat: Buffer;
  let logo: Buffer;
  /** The content keys of a file of the assets folder: its real path and its bytes. */
  const contentKeys = async (name: string, body: Buffer): Promise<string[]> =>
    contentEdgeKeys([`folder:${await fs.realpath(t.assetsDir)}/${name}`, `sha256:${createHash('sha256').update(body).digest('hex')}`]);
  before(async () => {
    cat = await solidImage(40, 30, [200, 10, 10]);
    logo = await solidImage(8, 8, [0, 0, 255], 'png');
    t = await startPictor({
      assets: { 'photos/cat.jpg': cat, 'logo.png': logo, 'race.jpg': await solidImage(40, 30, [0, 200, 0]) },
      hooks: { originInterceptor: origin.interceptor },
    });
  });
  after(() => t.stop());

  it('a render response carries its keys for Cloudflare (Cache-Tag) and Fastly (Surrogate-Key) too', async () => {
    const response = await rawGet(t.renderPort, '/photos/cat.jpg?w=21');
    const keys = keysOf(response.headers.xkey);
    assert.deepEqual(String(response.headers['cache-tag']).split(','), keys);
    assert.deepEqual(keysOf(response.headers['surrogate-key']), keys);
    assert.equal(response.headers['cdn-cache-control'], undefined);
  });

  it('a miss, a hit and a 304 carry the keys of the asset, its folders and its Source, and of its content', async () => {
    const src = t.defaultSourceId;
    const scopes = [sourceScope(src), assetScope(src, '/photos/cat.jpg'), prefixScope(src, '/'), prefixScope(src, '/photos/')].map(edgeKey);
    const expected = [...scopes, ...(await contentKeys('photos/cat.jpg', cat))];
    assert.equal(expected.length, 6);
    const miss = await rawGet(t.renderPort, '/photos/cat.jpg?w=20');
    assert.equal(miss.status, 200);
    assert.match(String(miss.headers['cache-status']), /fwd=miss/);
    assert.deepEqual(keysOf(miss.headers.xkey), expected);
    assert.match(String(miss.headers['cache-control']), /^public, max-age=\d+$/);

    const hit = await rawGet(t.renderPort, '/photos/cat.jpg?w=20');
    assert.match(String(hit.headers['cache-status']), /^Pictor; hit/);
    assert.deepEqual(keysOf(hit.headers.xkey), expected);

    const notModified = await rawGet(t.renderPort, '/photos/cat.jpg?w=20', { 'if-none-match': String(hit.headers.etag) });
    assert.equal(notModified.status, 304);
    assert.deepEqual(keysOf(notModified.headers.xkey), expected);
  });

  it('a composite carries its sub-image keys too', async () => {
    const response = await rawGet(t.renderPort, '/photos/cat.jpg?w=20&mark=/logo.png');
    assert.equal(response.status, 200);
    const keys = keysOf(response.headers.xkey);
    assert.ok(keys.includes(edgeKey(assetScope(t.defaultSourceId, '/logo.png'))));
    assert.ok(keys.includes(edgeKey(assetScope(t.defaultSourceId, '/photos/cat.jpg'))));
    for (const key of [...(await contentKeys('logo.png', logo)), ...(await contentKeys('photos/cat.jpg', cat))]) {
      assert.ok(keys.includes(key), 'the content keys of both images');
    }
    assert.equal(new Set(keys).size, keys.length, 'each key once');
  });

  it('a cached 404 carries the keys of the missing asset, on the miss and on the hit', async () => {
    const expectedKey = edgeKey(assetScope(t.defaultSourceId, '/nope/missing.jpg'));
    for (const cacheStatus of [/fwd=miss/, /^Pictor; hit/]) {
      const response = await rawGet(t.renderPort, '/nope/missing.jpg?w=10');
      assert.equal(response.status, 404);
      assert.match(String(response.headers['cache-status']), cacheStatus);
      assert.ok(keysOf(response.headers.xkey).includes(expectedKey));
    }
  });

  it('a render overtaken by a purge is answered with no-store; the next request is cacheable again', async () => {
    const held = origin.holdNext();
    try {
      const early = rawGet(t.renderPort, '/race.jpg?w=17');
      await eventually(() => held.waiting() > 0);
      assert.equal((await t.purgeAndWait(`${t.renderUrl}/race.jpg`)).status, 'completed');
      held.open();
      const response = await early;
      assert.equal(response.status, 200, 'the request that started before the purge still gets its bytes');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.ok(keysOf(response.headers.xkey).length > 0);
    } finally {
      held.open();
    }
    const later = await rawGet(t.renderPort, '/race.jpg?w=17');
    assert.match(String(later.headers['cache-control']), /^public, max-age=\d+$/);
    assert.match(String(later.headers['cache-status']), /fwd=miss/);
  });
});
