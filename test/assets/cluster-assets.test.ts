import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { apiCaller } from './client.ts';

/** The Assets API on a node of a cluster: the index in PostgreSQL, a refresh through the cluster's purge log. */
describe('Assets API with PostgreSQL', () => {
  let pg: TestPostgres;
  let t: TestPictor;
  let call: ReturnType<typeof apiCaller>;
  let base: string;

  before(async () => {
    pg = await startPostgres({ durable: false });
    t = await startPictor({ options: { databaseUrl: await pg.createDatabase('assets_node') }, assets: { 'a b.jpg': await solidImage(12, 8, [255, 0, 0]) } });
    call = apiCaller(t);
    base = `/api/v1/sources/${t.defaultSourceId}/assets`;
  });
  after(async () => {
    await t?.stop();
    await pg?.stop();
  });

  it('indexes a served asset, lists it, and refreshes it: the new bytes are served once it answers', async () => {
    assert.equal((await rawGet(t.renderPort, '/a%20b.jpg?w=6')).status, 200);
    await eventually(async () => (await call('GET', `${base}/a%20b.jpg`, t.apiKey)).status === 200);
    const listed = await call('GET', `${base}?filter[media_kind]=IMAGE`, t.apiKey);
    assert.deepEqual(listed.body.data.map((asset: { id: string }) => asset.id), [`${t.defaultSourceId}/a%20b.jpg`]);

    await t.put('a b.jpg', await solidImage(16, 8, [0, 0, 255]));
    const refreshed = await call('POST', `${base}/refresh/a%20b.jpg`, t.apiKey);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.data.attributes.media_width, 16);
    const [red, , blue] = await meanColour((await rawGet(t.renderPort, '/a%20b.jpg?w=6')).body);
    assert.ok(blue > 200 && red < 50);
  });
});
