import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];
const isBlue = async (body: Buffer) => (await meanColour(body))[2]! > 150;

describe('Prefix and whole-Source purges', () => {
  let t: TestPictor;
  const assets = ['/photos/a.jpg', '/photos/2024/b.jpg', '/photosphere.jpg', '/other/c.jpg'];
  before(async () => {
    const red = await solidImage(40, 30, RED);
    t = await startPictor({ assets: Object.fromEntries(assets.map((asset) => [asset.slice(1), red])), options: { purgeRateLimit: '1000' } });
    for (const asset of assets) for (const query of ['', '?w=20', '?w=10&fm=png']) await rawGet(t.renderPort, asset + query);
    const blue = await solidImage(40, 30, BLUE);
    for (const asset of assets) await t.put(asset.slice(1), blue);
  });
  after(() => t.stop());

  const waitFor = (id: string) => t.waitForPurge(id);

  it('a prefix purge covers every asset under the folder, and nothing else', async () => {
    const { status, body } = await t.purge(`${t.renderUrl}/photos`, { match: 'prefix' });
    assert.equal(status, 200);
    const done = await waitFor(body.data!.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.match, 'prefix');
    for (const asset of ['/photos/a.jpg', '/photos/2024/b.jpg']) {
      for (const query of ['', '?w=20', '?w=10&fm=png']) assert.ok(await isBlue((await rawGet(t.renderPort, asset + query)).body), asset + query);
    }
    for (const asset of ['/photosphere.jpg', '/other/c.jpg']) {
      const response = await rawGet(t.renderPort, `${asset}?w=20`);
      assert.match(String(response.headers['cache-status']), /^Pictor; hit/, `${asset} untouched`);
      assert.equal(await isBlue(response.body), false);
    }
  });

  it('a whole-Source purge covers every asset of the Source', async () => {
    const response = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/purge`, { method: 'POST', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(response.status, 200);
    const id = ((await response.json()) as { data: { id: string } }).data.id;
    const done = await waitFor(id);
    assert.equal(done.status, 'completed');
    assert.equal(done.match, 'source');
    assert.equal(done.url, null);
    for (const asset of assets) assert.ok(await isBlue((await rawGet(t.renderPort, `${asset}?w=20`)).body), asset);
  });

  it('refuses a bad match, an unknown Source and a missing key', async () => {
    assert.equal((await t.purge(`${t.renderUrl}/photos/`, { match: 'glob' })).status, 400);
    const unknown = await fetch(`${t.adminUrl}/api/v1/sources/${'0'.repeat(24)}/purge`, { method: 'POST', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(unknown.status, 404);
    const anonymous = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}/purge`, { method: 'POST' });
    assert.equal(anonymous.status, 401);
  });
});
