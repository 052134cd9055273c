/**
 * HLS playback in a real browser: hls.js in Debian's Chromium (playwright-core) plays Pictor's `fm=hls` of a
 * clip made by ffmpeg, from a page on another origin (CORS): the render listener serves no pages or scripts
 * (test/delivery/render-origin.test.ts), so a player's page is always elsewhere. Run with `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { makeClip, untilProcessed } from '../helpers/video.ts';
import { assertTool, CHROMIUM, skipWithout } from '../helpers/tools.ts';

const HLS_JS = fs.readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

/** Plays `?src=` with hls.js and sets window.__result once currentTime passes 1 s (or on a fatal error). */
const PAGE = `<!doctype html><meta charset="utf-8"><title>hls</title>
<video id="v" muted playsinline autoplay></video><script src="hls.min.js"></script>
<script>
const video = document.getElementById('v'); window.__result = null;
const src = new URLSearchParams(location.search).get('src');
const hls = new Hls();
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.muted = true; video.play(); });
hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.__result = { ok: false, fatal: d.details, http: d.response && d.response.code }; });
hls.loadSource(src); hls.attachMedia(video);
const t0 = performance.now();
const iv = setInterval(() => {
  if (video.currentTime > 1) { clearInterval(iv); window.__result = { ok: true, t: video.currentTime, levels: hls.levels.map((l) => l.height) }; }
  else if (performance.now() - t0 > 30000) { clearInterval(iv); window.__result = { ok: false, timeout: true }; }
}, 100);
</script>`;

describe('HLS in Chromium with hls.js', { skip: skipWithout('chromium'), timeout: 180_000 }, () => {
  let t: TestPictor;
  let browser: Browser;
  let elsewhere: http.Server;
  let elsewhereUrl = '';

  before(async () => {
    assertTool('chromium');
    t = await startPictor({
      assets: { 'clip.mp4': await makeClip({ width: 1280, height: 720, seconds: 4 }) },
    });
    // Another origin (another port): the page and hls.js; the video comes from Pictor.
    elsewhere = http.createServer((request, response) => {
      const file = new URL(request.url ?? '/', 'http://x').pathname;
      if (file === '/page.html') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      else if (file === '/hls.min.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(HLS_JS);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    // Encoded before the player asks: hls.js treats the 423 of a video still processing as fatal.
    assert.equal((await untilProcessed(`${t.renderUrl}/clip.mp4?fm=hls`)).status, 200);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => elsewhere?.close(resolve));
    await t?.stop();
  });

  async function play(pageUrl: string): Promise<{ ok: boolean; t?: number; levels?: number[]; fatal?: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl);
      await page.waitForFunction(() => (window as unknown as { __result: unknown }).__result !== null, null, { timeout: 40_000 });
      return await page.evaluate(() => (window as unknown as { __result: { ok: boolean } }).__result);
    } finally {
      await page.close();
    }
  }

  it('plays from a page on another origin (CORS on playlists and segments), every rendition offered', async () => {
    const result = await play(`${elsewhereUrl}/page.html?src=${encodeURIComponent(`${t.renderUrl}/clip.mp4?fm=hls`)}`);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(result.t! > 1);
    assert.deepEqual([...result.levels!].sort((a, b) => a - b), [360, 720]);
  });
});
