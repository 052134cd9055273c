import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DashboardClient } from '../dashboard/http-client.ts';
import { eventually, meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

/** The dashboard's Assets page over HTTP: browsing a Source's assets, and Refresh (a form post with CSRF). */
describe('dashboard: Assets page', () => {
  let t: TestPictor;
  let client: DashboardClient;
  const page = (query = '') => client.get(`/dashboard/asset-manager${query}`);

  before(async () => {
    t = await startPictor({ assets: { 'red.jpg': await solidImage(40, 30, [255, 0, 0]), 'docs/readme.txt': 'hello', 'clip.mp4': 'not a video' } });
    client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
    // Served (or, for files that are no media, refused with 415), and so indexed.
    for (const [path, status] of [['/red.jpg?w=10', 200], ['/docs/readme.txt', 415], ['/clip.mp4', 415]] as const) {
      assert.equal((await rawGet(t.renderPort, path)).status, status, path);
    }
    await eventually(async () => (await page()).text.includes('/clip.mp4'));
  });
  after(() => t?.stop());

  it('lists the default Source\'s assets with kind, size and dimensions; filters by kind and folder; pages', async () => {
    const all = await page();
    assert.equal(all.status, 200);
    assert.match(all.text, /aria-current="page"[^>]*>Assets|href="\/dashboard\/asset-manager" aria-current="page"/);
    for (const path of ['/red.jpg', '/docs/readme.txt', '/clip.mp4']) assert.ok(all.text.includes(`<code class="wrap">${path}</code>`), path);
    assert.match(all.text, /40 × 30 px/);
    const videos = await page(`?source=${t.defaultSourceId}&kind=VIDEO`);
    assert.ok(videos.text.includes('/clip.mp4') && !videos.text.includes('<code class="wrap">/red.jpg'));
    const docs = await page(`?source=${t.defaultSourceId}&folder=docs`);
    assert.ok(docs.text.includes('/docs/readme.txt') && !docs.text.includes('<code class="wrap">/clip.mp4'));
    const first = await page(`?source=${t.defaultSourceId}&sort=origin_path`);
    assert.doesNotMatch(first.text, /rel="next"/, 'one page holds them');
    const bad = await page(`?source=${t.defaultSourceId}&cursor=nonsense!`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /is not a cursor this API gave/);
  });

  it('Refresh needs the form\'s CSRF token, then purges and comes back with a notice', async () => {
    assert.equal((await rawGet(t.renderPort, '/red.jpg?w=10')).status, 200);
    await t.put('red.jpg', await solidImage(40, 30, [0, 0, 255]));
    const form = { source: t.defaultSourceId, path: '/red.jpg', back: `/dashboard/asset-manager?source=${t.defaultSourceId}` };
    const refused = await client.post('/dashboard/asset-manager/refresh', form);
    assert.equal(refused.status, 403);
    const [red] = await meanColour((await rawGet(t.renderPort, '/red.jpg?w=10')).body);
    assert.ok(red > 200, 'nothing was purged');

    const sent = await client.post('/dashboard/asset-manager/refresh', { ...form, _csrf: DashboardClient.csrfOf((await page()).text) });
    assert.equal(sent.status, 303);
    assert.equal(sent.location, form.back);
    const [r, , b] = await meanColour((await rawGet(t.renderPort, '/red.jpg?w=10')).body);
    assert.ok(b > 200 && r < 50, 'the new bytes');
    assert.match((await client.get(sent.location!)).text, /Refreshed \/red\.jpg: the origin was asked again/);

    const elsewhere = await client.post('/dashboard/asset-manager/refresh', { ...form, back: 'https://evil.example/', _csrf: DashboardClient.csrfOf((await page()).text) });
    assert.equal(elsewhere.location, `/dashboard/asset-manager?source=${t.defaultSourceId}`, 'never sent elsewhere');
    await t.remove('red.jpg');
    const gone = await client.post('/dashboard/asset-manager/refresh', { ...form, _csrf: DashboardClient.csrfOf((await page()).text) });
    assert.equal(gone.status, 303);
    assert.match((await client.get(gone.location!)).text, /Not refreshed: \/red\.jpg is no longer at the origin/);
  });
});
