/**
 * A video played through a Varnish edge in front of three nodes (PostgreSQL, an S3 video store), in
 * Chromium with hls.js, to the end: the page polls the master playlist through the edge until it answers
 * 200, as a player's page does, and from then on no playlist or segment may answer 423 from whichever node
 * the edge picks (hls.js treats that as fatal). Run with `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { S3RVER_KEY, startBucket, type TestBucket } from '../helpers/s3-bucket.ts';
import { assertTool, CHROMIUM, skipWithout } from '../helpers/tools.ts';
import { makeClip } from '../helpers/video.ts';

const HLS_JS = fs.readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

/** Polls `?src=` until 200, then plays it with hls.js to its end; window.__result says how it went. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>hls</title>
<video id="v" muted playsinline autoplay></video><script src="hls.min.js"></script>
<script>
const video = document.getElementById('v'); window.__result = null;
const src = new URLSearchParams(location.search).get('src');
const statuses = [];
(async () => {
  for (;;) {
    const response = await fetch(src, { cache: 'no-store' });
    if (response.status === 200) break;
    if (response.status !== 423) { window.__result = { ok: false, master: response.status }; return; }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const hls = new Hls();
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.muted = true; video.play(); });
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.response && d.response.code) statuses.push(d.response.code);
    if (d.fatal) window.__result = { ok: false, fatal: d.details, http: d.response && d.response.code, statuses };
  });
  video.addEventListener('ended', () => { window.__result = { ok: true, t: video.currentTime, duration: video.duration, statuses }; });
  hls.loadSource(src); hls.attachMedia(video);
})();
</script>`;

describe('HLS through a Varnish edge in front of three nodes, in Chromium with hls.js', { skip: skipWithout('chromium') || skipWithout('varnish'), timeout: 400_000 }, () => {
  let bucket: TestBucket;
  let cluster: TestCluster;
  let browser: Browser;
  let elsewhere: http.Server;
  let elsewhereUrl = '';

  before(async () => {
    assertTool('chromium');
    assertTool('varnish');
    bucket = await startBucket('videos');
    cluster = await startCluster({
      nodes: 3,
      edges: 1,
      assets: { 'clip.mp4': await makeClip({ width: 640, height: 360, seconds: 6 }) },
      extraArgs: ['--video-store', 's3://videos/hls', '--video-store-endpoint', bucket.endpoint],
      env: { PICTOR_VIDEO_STORE_ACCESS_KEY_ID: S3RVER_KEY, PICTOR_VIDEO_STORE_SECRET_ACCESS_KEY: S3RVER_KEY },
    });
    elsewhere = http.createServer((request, response) => {
      const file = new URL(request.url ?? '/', 'http://x').pathname;
      if (file === '/page.html') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      else if (file === '/hls.min.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(HLS_JS);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => elsewhere?.close(resolve));
    await cluster?.stop();
    await bucket?.stop();
  });

  it('plays the master URL to the end, never meeting a 423 once the master answered 200', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${elsewhereUrl}/page.html?src=${encodeURIComponent(`${cluster.edges[0]!.url}/clip.mp4?fm=hls`)}`);
      await page.waitForFunction(() => (window as unknown as { __result: unknown }).__result !== null, null, { timeout: 300_000 });
      const result = await page.evaluate(() => (window as unknown as { __result: { ok: boolean; t?: number; duration?: number; statuses: number[] } }).__result);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.ok(result.t! >= result.duration! - 0.5, JSON.stringify(result));
      assert.deepEqual(result.statuses, [], 'no playlist or segment answered an error');
    } finally {
      await page.close();
    }
  });
});
