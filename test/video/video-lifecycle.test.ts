import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DashboardClient } from '../dashboard/http-client.ts';
import { eventually, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { makeClip, untilProcessed } from '../helpers/video.ts';

/**
 * What purging does not cover, end to end on one server: a purge of a video says what it left; a refresh
 * through the Assets API reprocesses new bytes; a takedown blocks every output (451) and deletes them; a
 * video removed at its origin is gone after the recheck interval; the Assets API shows the video's state.
 */
describe('videos: purge notice, refresh, takedown, timed removal', { timeout: 600_000 }, () => {
  let t: TestPictor;
  const api = async (method: string, urlPath: string, body?: unknown) => {
    const response = await fetch(`${t.adminUrl}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };

  before(async () => {
    t = await startPictor({
      assets: { 'a.mp4': await makeClip({ width: 320, height: 240, seconds: 2 }), 'b.mp4': await makeClip({ width: 320, height: 240, seconds: 2 }) },
      options: { videoRecheckIntervalSeconds: '1' },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('a purge of a video answers 200 and says, in the answer and the status document, that its Video API outputs remain, with the refresh endpoint', async () => {
    await untilProcessed(`${t.renderUrl}/a.mp4?fm=hls`);
    const { status, body } = await t.purge(`${t.renderUrl}/a.mp4`);
    assert.equal(status, 200);
    const notice = body.meta!.pictor as { video?: { message: string; refresh: string } };
    assert.match(notice.video!.message, /not its Video API outputs/);
    assert.equal(notice.video!.refresh, `/api/v1/sources/${t.defaultSourceId}/assets/refresh/a.mp4`);
    const document = await api('GET', `/api/v1/purges/${body.data!.id}`);
    assert.equal(document.body.meta.pictor.video.refresh, notice.video!.refresh);
    assert.equal((await fetch(`${t.renderUrl}/a.mp4?fm=hls`)).status, 200, 'the outputs are still served');
    const image = await t.purge(`${t.renderUrl}/a.jpg`);
    assert.equal((image.body.meta!.pictor as { video?: unknown }).video, undefined, 'no notice for an image');

    // The dashboard's Purge Single Asset shows the same notice, with a Refresh button.
    const client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
    const sent = await client.post('/dashboard/tools/purge', { _csrf: await client.csrf(), url: `${t.renderUrl}/a.mp4` });
    assert.equal(sent.status, 303);
    const page = await client.get(sent.location!);
    assert.match(page.text, /not its Video API outputs/);
    assert.match(page.text, /<form method="post" action="\/dashboard\/asset-manager\/refresh">[\s\S]*name="path" value="\/a.mp4"[\s\S]*Refresh the video/);
  });

  it('the Assets API shows the processing state; a refresh after new bytes reprocesses, and the old outputs are never served again', async () => {
    const asset = await api('GET', `/api/v1/sources/${t.defaultSourceId}/assets/a.mp4`);
    assert.equal(asset.status, 200);
    assert.equal(asset.body.data.attributes.video_status, 'processed');
    const before = (await t.pictor.video!.state(t.defaultSourceId, '/a.mp4'))!.version;
    await t.put('a.mp4', await makeClip({ width: 320, height: 240, seconds: 3 }));
    const refreshed = await api('POST', `/api/v1/sources/${t.defaultSourceId}/assets/refresh/a.mp4`);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const state = (await t.pictor.video!.state(t.defaultSourceId, '/a.mp4'))!;
    assert.ok(state.version > before, 'a new version');
    assert.notEqual((await fetch(`${t.renderUrl}/a.mp4?fm=hls`)).status, 200, 'not the old outputs while the new ones are made');
    await untilProcessed(`${t.renderUrl}/a.mp4?fm=hls`);
  });

  it('a takedown of a video answers 451 for every output and deletes them; lifting it lets the video be processed again', async () => {
    const master = await (await untilProcessed(`${t.renderUrl}/b.mp4?fm=hls`)).text();
    const created = await api('POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: `${t.renderUrl}/b.mp4`, reason: 'legal notice 42' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const target of ['/b.mp4?fm=hls', '/b.mp4?fm=mp4', '/b.mp4?video-generate=thumbnail', '/b.mp4', `/b.mp4${new URL(master.split('\n').find((line) => line.includes('rendition'))!, 'http://x/b.mp4?fm=hls').search}`]) {
      assert.equal((await fetch(`${t.renderUrl}${target}`)).status, 451, target);
    }
    await eventually(async () => (await t.pictor.video!.state(t.defaultSourceId, '/b.mp4')) === undefined, 30_000);
    const lifted = await api('DELETE', `/api/v1/takedowns/${created.body.data.id}`);
    assert.ok(lifted.status < 300);
    assert.equal((await fetch(`${t.renderUrl}/b.mp4?fm=hls`)).status, 423, 'processed again from the start');
  });

  it('a video removed at its origin is gone after the recheck interval: every output deleted, 404', async () => {
    await untilProcessed(`${t.renderUrl}/b.mp4?fm=hls`);
    await t.remove('b.mp4');
    await eventually(async () => (await t.pictor.video!.state(t.defaultSourceId, '/b.mp4')) === undefined, 30_000);
    assert.equal((await fetch(`${t.renderUrl}/b.mp4?fm=hls`)).status, 404);
  });
});
