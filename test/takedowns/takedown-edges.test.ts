import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiKeys } from '../../src/auth/api-keys.ts';
import { renderVcl } from '../../src/edges/vcl.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { rawGet, solidImage, startPictor, type RawResponse, type TestPictor } from '../helpers/pictor.ts';
import { startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';
import { makeClip } from '../helpers/video.ts';

const MIRROR = 'mirror.example';

/**
 * One Pictor behind a real Varnish edge, with a second Source on the same folder: a takedown leaves no copy
 * of its content at the edge, under whatever Source's URL the edge cached it.
 */
describe('a takedown removes its content from the edges under every URL', { timeout: 120_000, skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  before(async () => {
    const red = await solidImage(60, 40, [220, 0, 0]);
    const clip = await makeClip({ width: 160, height: 120, seconds: 1 });
    t = await startPictor({ assets: { 'taken.jpg': red, 'copy.jpg': red, 'clip.mp4': clip, 'kept.jpg': await solidImage(20, 20, [0, 0, 220]) } });
    const stores = await openStores({ dataDir: t.dataDir });
    let sourcesKey: string;
    try {
      sourcesKey = (await new ApiKeys(stores.apiKeys).create('sources only', ['sources'])).key;
    } finally {
      await stores.close();
    }
    const api = (path: string, body: unknown, key: string) =>
      fetch(`${t.adminUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify(body),
      });
    const deployment = { type: 'folder', folder_path: t.assetsDir, custom_domains: [MIRROR] };
    const mirror = await api('/api/v1/sources', { data: { type: 'sources', attributes: { name: 'mirror', deployment } } }, sourcesKey);
    assert.equal(mirror.status, 201);
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-1' });
    const registered = await api('/api/v1/edges', { data: { type: 'edges', attributes: { name: edge.name, url: edge.url } } }, t.apiKey);
    assert.equal(registered.status, 201);
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
  });

  const viaEdge = (host: string | undefined, target: string): Promise<RawResponse> => rawGet(edge.port, target, host === undefined ? {} : { host });
  /** Asks until the Video API has processed the video (a 423 is never cached), for at most a minute. */
  const processed = async (host: string, target: string): Promise<RawResponse> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const response = await viaEdge(host, target);
      if (response.status !== 423 || Date.now() > deadline) return response;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const takedown = async (path: string): Promise<string> => {
    const response = await fetch(`${t.adminUrl}/api/v1/takedowns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'takedowns', attributes: { url: `${t.renderUrl}${path}`, reason: 'notice' } } }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { data: { id: string } }).data.id;
  };
  const lift = async (id: string): Promise<void> => {
    const response = await fetch(`${t.adminUrl}/api/v1/takedowns/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(response.status, 200);
  };

  it('copies cached at the edge under another Source, path or copy answer 451 after the takedown, and 200 after the lift', async () => {
    const master = await processed(MIRROR, '/clip.mp4?fm=hls');
    assert.equal(master.status, 200);
    const variant = master.body.toString().split('\n').find((line) => line.includes('rendition='))!.slice(1);

    const targets: [string | undefined, string][] = [
      [MIRROR, '/taken.jpg?w=20'],
      [MIRROR, '/copy.jpg'],
      [undefined, '/copy.jpg?w=30'],
      [MIRROR, '/clip.mp4?fm=hls'],
      [MIRROR, variant],
    ];
    for (const [host, target] of targets) {
      assert.equal((await viaEdge(host, target)).status, 200, target);
      const hit = await viaEdge(host, target);
      assert.match(String(hit.headers['cache-status']), /edge-1; hit/, `${host ?? 'default'} ${target} is cached at the edge`);
    }
    assert.equal((await viaEdge(MIRROR, '/kept.jpg')).status, 200);

    const image = await takedown('/taken.jpg');
    const video = await takedown('/clip.mp4');
    for (const [host, target] of targets) {
      const response = await viaEdge(host, target);
      assert.equal(response.status, 451, `${host ?? 'default'} ${target} (${String(response.headers['cache-status'])})`);
    }
    assert.match(String((await viaEdge(MIRROR, '/kept.jpg')).headers['cache-status']), /edge-1; hit/, 'other content stays at the edge');

    await lift(image);
    await lift(video);
    for (const [host, target] of targets) assert.equal((await viaEdge(host, target)).status, 200, `${host ?? 'default'} ${target} after the lift`);
  });
});
