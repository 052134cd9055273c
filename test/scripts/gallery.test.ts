/**
 * The reference gallery end to end: the whole gallery is built against a real Pictor, then the page is read
 * back like a person would — every family has its section, every image it shows is a file beside it that
 * decodes, and every response was a 200.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildGallery, encodeSampleUrl, legibleUrl, type GalleryResult } from '../../scripts/gallery/build.ts';
import { FAMILIES } from '../../scripts/gallery/families.ts';
import { compareWithGolden, pixelDifference } from '../../scripts/gallery/golden.ts';
import { parameterSupport } from '../../src/render/support.ts';

describe('reference gallery', () => {
  let outDir: string;
  let result: GalleryResult;
  let html: string;

  before(async () => {
    outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-gallery-'));
    result = await buildGallery({ outDir });
    html = await fs.readFile(result.htmlFile, 'utf8');
  });
  after(() => fs.rm(outDir, { recursive: true, force: true }));

  it('has a section for every family, with every sample of it', () => {
    for (const family of FAMILIES) {
      assert.ok(html.includes(`<section id="${family.id}" data-family="${family.id}">`), `section ${family.id}`);
      assert.equal(result.entries.filter((entry) => entry.familyId === family.id).length, family.samples.length, family.id);
    }
    for (const required of ['size', 'rect-trim', 'adjust', 'tone', 'stylize', 'canvas', 'fill', 'transparency', 'mark', 'blend', 'text', 'faces', 'animation', 'pdf', 'palette', 'json', 'formats', 'fallback']) {
      assert.ok(FAMILIES.some((family) => family.id === required), `family ${required} is in the gallery`);
    }
  });

  it('draws every image sample as its reviewed golden thumbnail (npm run gallery -- --update rewrites them)', async () => {
    const drifted = await compareWithGolden(outDir, result.entries, path.join(outDir, 'diff'));
    assert.deepEqual(drifted.map((mismatch) => `${mismatch.url}: ${mismatch.reason}`), []);
  });

  it('answers every sample with a 200', () => {
    const failed = result.entries.filter((entry) => entry.status !== 200).map((entry) => `${entry.status} ${entry.requestPath}: ${entry.text}`);
    assert.deepEqual(failed, []);
    assert.ok(!html.includes('class="failed"'));
  });

  it('applies every parameter it shows, outside the fallback family', () => {
    const notApplied = result.entries.filter((entry) => entry.notApplied).map((entry) => `${entry.url}: ${entry.unsupported}`);
    assert.deepEqual(notApplied, []);
  });

  it('shows only image files that exist beside the page and decode', async () => {
    const sources = [...html.matchAll(/<img src="([^"]+)"/g)].map((match) => match[1]!);
    assert.equal(sources.length, result.entries.filter((entry) => entry.contentType.startsWith('image/')).length);
    for (const source of sources) {
      assert.match(source, /^[\w.-]+$/, 'a relative link to a file beside the page');
      const { width, height } = await sharp(path.join(outDir, source), { animated: true }).metadata();
      assert.ok(width && height, `${source} decodes`);
    }
  });

  it('shows data outputs as text, and the fallback header', () => {
    const json = result.entries.find((entry) => entry.url === '/sunset.jpg?fm=json')!;
    assert.equal(json.contentType, 'application/json');
    assert.match(html, /&quot;PixelWidth&quot;: 1600/);
    const fallback = result.entries.find((entry) => entry.familyId === 'fallback' && entry.url.includes('bg-remove'))!;
    assert.equal(fallback.unsupported, 'bg-remove');
    assert.match(html, /X-Pictor-Unsupported: <code>bg-remove<\/code>/);
  });

  it('writes copyable URLs that Pictor reads back as written', () => {
    const path = encodeSampleUrl('/sunset.jpg?txt=こんにちは 世界&mark=/logo.png&ar=1:1');
    assert.equal(path, '/sunset.jpg?txt=%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF%20%E4%B8%96%E7%95%8C&mark=/logo.png&ar=1:1');
    assert.equal(legibleUrl(path), '/sunset.jpg?txt=こんにちは%20世界&mark=/logo.png&ar=1:1');
    assert.ok(html.includes('txt=مرحبا%20بالعالم'), 'non-ASCII text is shown as letters');
  });
});

describe('golden thumbnails', () => {
  it('cover every parameter Pictor applies in at least one gallery sample', () => {
    const used = new Set(FAMILIES.flatMap((family) => family.samples.flatMap((sample) =>
      (sample.url.split('?')[1] ?? '').split('&').map((pair) => pair.split('=')[0]!.replace(/64$/, '')))));
    const missing = parameterSupport()
      .filter((parameter) => parameter.status === 'implemented')
      .filter((parameter) => ![parameter.name, ...parameter.aliases].some((name) => used.has(name)))
      .map((parameter) => parameter.name);
    assert.deepEqual(missing, []);
  });

  it('pass a copy and fail a visible change of tone, reporting where it drifted', () => {
    const base = Buffer.alloc(32 * 32 * 4, 120);
    assert.equal(pixelDifference(base, Buffer.from(base)).mean, 0);
    const shifted = Buffer.from(base.map((v, i) => (i % 4 === 3 ? v : v + 6)));
    const { mean, diff } = pixelDifference(shifted, base);
    assert.ok(mean > 2.5, `a shift of 6 levels is over the budget: ${mean}`);
    assert.equal(diff[0], 24, 'the diff amplifies the difference four times');
  });
});
