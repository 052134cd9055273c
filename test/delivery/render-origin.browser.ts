/**
 * The render listener in a real browser (Debian's Chromium through playwright-core): a page, a page dressed as
 * a PNG and an SVG with a script, opened straight from it, run no script; a page on another origin still
 * shows its images and applies its `palette=css` stylesheet under the listener's sandboxing headers. Run with
 * `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { assertTool, CHROMIUM, skipWithout } from '../helpers/tools.ts';

const SCRIPT = '<script>document.title = "ran"</script>';

describe('the render listener in Chromium', { skip: skipWithout('chromium'), timeout: 120_000 }, () => {
  let t: TestPictor;
  let browser: Browser;
  let elsewhere: http.Server;
  let elsewhereUrl = '';

  before(async () => {
    assertTool('chromium');
    t = await startPictor({
      assets: {
        'page.html': `<!doctype html><title>page</title>${SCRIPT}`,
        'looks-like.png': `<!doctype html><title>page</title>${SCRIPT}`,
        'logo.svg': `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><title>svg</title>${SCRIPT}<rect width="20" height="10"/></svg>`,
        'red.jpg': await solidImage(40, 30, [255, 0, 0]),
      },
    });
    // A site on another origin that uses Pictor as it should: an image and a palette stylesheet.
    const page = `<!doctype html><title>site</title>
<link rel="stylesheet" href="${t.renderUrl}/red.jpg?palette=css&prefix=pal&colors=1">
<div id="swatch" class="pal-bg-1">swatch</div><img id="photo" src="${t.renderUrl}/red.jpg?w=20">`;
    elsewhere = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`;
    const quiet = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', ...quiet] });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => elsewhere?.close(resolve));
    await t?.stop();
  });

  it('runs no script from a page, a page named .png or an SVG opened straight from it', async () => {
    const page = await browser.newPage();
    try {
      for (const target of ['/page.html', '/looks-like.png', '/logo.svg']) {
        const response = await page.goto(`${t.renderUrl}${target}`);
        assert.ok(response, target);
        assert.notEqual(await page.title(), 'ran', `${target} ran its script (${response.status()} ${response.headers()['content-type']})`);
      }
    } finally {
      await page.close();
    }
  });

  it('lets a page on another origin show its images and apply its palette stylesheet', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(elsewhereUrl);
      await page.waitForFunction(() => (document.getElementById('photo') as HTMLImageElement).complete);
      assert.equal(await page.evaluate(() => (document.getElementById('photo') as HTMLImageElement).naturalWidth), 20);
      const background = await page.evaluate(() => getComputedStyle(document.getElementById('swatch')!).backgroundColor);
      const [red, green, blue] = background.match(/\d+/g)!.map(Number);
      assert.ok(red! > 200 && green! < 60 && blue! < 60, `the palette's colour is applied: ${background}`);
    } finally {
      await page.close();
    }
  });
});
