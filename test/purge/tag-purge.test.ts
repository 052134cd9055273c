import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { heldOrigin } from '../helpers/held-origin.ts';
import { meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { requestPurge, waitForPurge, type PurgeAnswer } from '../helpers/purges.ts';

const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];
const SHOP = 'shop.test';

function near(actual: number[], expected: number[]): boolean {
  return actual.every((value, i) => Math.abs(value - expected[i]!) < 20);
}

/**
 * Purge by tag against a real server: assets tagged through the Assets API, derivatives rendered by sharp from
 * a folder origin whose reads are counted, and a second Source on its own domain.
 */
describe('Purge by tag: one purge of every asset carrying the tag, and of nothing else', () => {
  let t: TestPictor;
  let shopId: string;
  const origin = heldOrigin();

  const api = async (method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${t.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await fetch(`${t.adminUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const tag = async (sourceId: string, assetPath: string, tags: string[]) => {
    assert.equal((await api('POST', `/api/v1/sources/${sourceId}/assets/add${assetPath}`)).status < 300, true, `add ${assetPath}`);
    const patched = await api('PATCH', `/api/v1/sources/${sourceId}/assets${assetPath}`, { data: { type: 'assets', attributes: { tags } } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  };
  const purgeTag = (attributes: Record<string, unknown>): Promise<PurgeAnswer> =>
    fetch(`${t.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes } }),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as PurgeAnswer['body'] }));
  const purgeTagAndWait = async (attributes: Record<string, unknown>) => {
    const { status, body } = await purgeTag(attributes);
    assert.equal(status, 200, JSON.stringify(body));
    return waitForPurge(t, body.data!.id);
  };
  const get = (target: string, host?: string) => rawGet(t.renderPort, target, host ? { host } : {});
  const colourOf = async (target: string, host?: string) => meanColour((await get(target, host)).body);

  before(async () => {
    const red = await solidImage(120, 80, RED);
    t = await startPictor({
      assets: { 'a.jpg': red, 'b.jpg': red, 'c.jpg': red, 'logo.png': await solidImage(40, 40, RED, 'png'), 'shop/a.jpg': red },
      hooks: { originInterceptor: origin.interceptor },
      options: { purgeRateLimit: '1000', purgeTagMaxAssets: '3' },
    });
    const deployment = { type: 'folder', folder_path: path.join(t.assetsDir, 'shop'), custom_domains: [SHOP] };
    const created = await api('POST', '/api/v1/sources', { data: { type: 'sources', attributes: { name: 'shop', deployment } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    shopId = created.body.data.id;
    await tag(t.defaultSourceId, '/a.jpg', ['product-123']);
    await tag(t.defaultSourceId, '/b.jpg', ['sale', 'product-123']);
    await tag(t.defaultSourceId, '/c.jpg', ['Product-123', 'product-1234']);
    await tag(t.defaultSourceId, '/logo.png', ['brand']);
    await tag(shopId, '/a.jpg', ['product-123']);
  });
  after(() => t.stop());

  const tagged = ['/a.jpg?w=60', '/a.jpg?w=30&h=30&fit=crop', '/b.jpg?w=60', '/b.jpg?w=40&fm=png'];
  const untagged = ['/c.jpg?w=50', '/c.jpg?w=60'];

  it('re-renders every derivative of the tagged assets from new origin bytes; the untagged asset stays cached', async () => {
    for (const target of [...tagged, ...untagged]) {
      assert.ok(near(await colourOf(target), RED), target);
      assert.match(String((await get(target)).headers['cache-status']), /^Pictor; hit/, `${target} is cached`);
    }
    const shop = await get('/a.jpg?w=60', SHOP);
    assert.equal(shop.status, 200, shop.body.toString());
    assert.match(String((await get('/a.jpg?w=60', SHOP)).headers['cache-status']), /^Pictor; hit/);
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg', 'shop/a.jpg']) await t.put(name, await solidImage(120, 80, BLUE));
    const reads = origin.reads();

    const done = await purgeTagAndWait({ tag: 'product-123', source_id: t.defaultSourceId });
    assert.equal(done.status, 'completed');
    assert.deepEqual([done.match, done.tag, done.assets, done.url, done.source_id], ['tag', 'product-123', 2, null, t.defaultSourceId]);
    assert.ok(Number(done.matched) >= tagged.length, `matched ${done.matched}: the cached entries of both assets`);
    for (const target of tagged) {
      const response = await get(target);
      assert.ok(near(await meanColour(response.body), BLUE), `${target} is the new version`);
      assert.match(String(response.headers['cache-status']), /fwd=miss/, target);
    }
    assert.equal(origin.reads() - reads, 2, 'each tagged asset read from its origin once, every size rendered from that read');
    for (const target of untagged) {
      const response = await get(target);
      assert.match(String(response.headers['cache-status']), /^Pictor; hit/, `${target} (tagged "Product-123" and "product-1234", not "product-123") is not purged`);
      assert.ok(near(await meanColour(response.body), RED));
    }
  });

  it('source_id limits it to one Source; without source_id it reaches every Source', async () => {
    assert.ok(near(await colourOf('/a.jpg?w=60', SHOP), RED), "the other Source's asset was left alone");
    const everywhere = await purgeTagAndWait({ tag: 'product-123' });
    assert.deepEqual([everywhere.assets, everywhere.source_id], [3, null]);
    assert.ok(near(await colourOf('/a.jpg?w=60', SHOP), BLUE));
  });

  it('purges the renders that use a tagged asset as their mark', async () => {
    const parent = '/c.jpg?w=100&fm=png&mark=/logo.png&mark-w=40';
    const before = await get(parent);
    assert.match(String((await get(parent)).headers['cache-status']), /^Pictor; hit/);
    await t.put('logo.png', await solidImage(40, 40, [20, 220, 20], 'png'));
    const done = await purgeTagAndWait({ tag: 'brand' });
    assert.equal(done.assets, 1);
    const after = await get(parent);
    assert.match(String(after.headers['cache-status']), /fwd=miss/, 'the parent is rendered again');
    assert.notDeepEqual(after.body, before.body, 'with the new mark');
    assert.match(String((await get('/c.jpg?w=60')).headers['cache-status']), /^Pictor; hit/, 'renders of c.jpg without the mark stay cached');
  });

  it('a tag no asset carries is purged as the exact-URL purge of an unknown asset is: 200, and it completes with 0 assets', async () => {
    const done = await purgeTagAndWait({ tag: 'nobody-has-this' });
    assert.deepEqual([done.status, done.assets, done.matched, done.edges], ['completed', 0, 0, { purged: [], out_of_rotation: [] }]);
  });

  it('refuses a tag on more assets than --purge-tag-max-assets, advising a folder or Source purge; within one Source it may be fine', async () => {
    for (const name of ['d.jpg', 'e.jpg']) {
      await fs.writeFile(path.join(t.assetsDir, name), await solidImage(20, 20, RED));
      await tag(t.defaultSourceId, `/${name}`, ['product-123']);
    }
    const { status, body } = await purgeTag({ tag: 'product-123' });
    assert.equal(status, 400);
    assert.equal(body.errors![0]!.source?.pointer, '/data/attributes/tag');
    assert.match(body.errors![0]!.detail, /"product-123" is on more than 3 assets.*--purge-tag-max-assets.*"match": "prefix".*\/purge/);
    const within = await purgeTag({ tag: 'product-123', source_id: shopId });
    assert.equal(within.status, 200, 'the shop Source has one');
  });

  it('400 documents that point at the problem, 404 for an unknown Source', async () => {
    const url = `${t.renderUrl}/a.jpg`;
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [{}, 400, '/data/attributes/url', /"url" is required.*or "tag"/],
      [{ url, tag: 'x' }, 400, '/data/attributes/tag', /"url" or "tag", not both/],
      [{ tag: 'x', match: 'prefix' }, 400, '/data/attributes/match', /"match" goes with "url"/],
      [{ tag: 'x', sub_image: true }, 400, '/data/attributes/sub_image', /"sub_image" goes with "url"/],
      [{ tag: '   ' }, 400, '/data/attributes/tag', /non-empty/],
      [{ tag: 'x'.repeat(101) }, 400, '/data/attributes/tag', /at most 100 characters/],
      [{ tag: 7 }, 400, '/data/attributes/tag', /string/],
      [{ tag: 'x', source_id: 'nope' }, 400, '/data/attributes/source_id', /24 hexadecimal/],
      [{ tag: 'x', source_id: 'f'.repeat(24) }, 404, '/data/attributes/source_id', /No Source has the id "f{24}"/],
    ];
    for (const [attributes, expected, pointer, detail] of cases) {
      const { status, body } = await purgeTag(attributes);
      assert.equal(status, expected, JSON.stringify(attributes));
      assert.match(body.errors![0]!.detail, detail, JSON.stringify(attributes));
      assert.equal(body.errors![0]!.source?.pointer, pointer, JSON.stringify(attributes));
    }
  });

  it('lists tag purges with the others, and URL purges keep their shape', async () => {
    const { body } = await requestPurge(t, `${t.renderUrl}/c.jpg`);
    const exact = await waitForPurge(t, body.data!.id);
    assert.deepEqual([exact.tag, exact.assets, exact.match, exact.url], [null, null, 'exact', `${t.renderUrl}/c.jpg`]);
  });
});
