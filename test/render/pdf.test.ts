import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { isPdf } from '../../src/render/detect.ts';
import { parseParams } from '../../src/render/params.ts';
import { MAX_PDF_PAGES } from '../../src/render/pdf/pdf-document.ts';
import { PDF_HEAP_MB } from '../../src/render/pdf/pdf-thread.ts';
import { prepareRender } from '../../src/render/pipeline.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { near, OPTIONS, pixels, renderQuery } from './fixtures.ts';
import { buildPdf, twoPagePdf } from './pdf-fixtures.ts';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

/** Resolves with the error's code and status, or fails the test if the promise resolved. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  const error = await promise.then(
    () => assert.fail('expected an error'),
    (caught: unknown) => caught,
  );
  assert.ok(isPictorError(error), String(error));
  return { code: error.code, status: error.status, message: error.message };
}

/**
 * A password-protected document: the standard security handler with a user password that is not empty,
 * so no reader can open it without the password.
 */
function encryptedPdf(): Buffer {
  const plain = buildPdf([{ width: 100, height: 100, fill: [1, 0, 0] }]).toString('latin1');
  const hex = (seed: number) => Array.from({ length: 32 }, (_, i) => ((seed * (i + 7)) % 256).toString(16).padStart(2, '0')).join('');
  const encrypt = `/Encrypt << /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <${hex(3)}> /U <${hex(5)}> >> /ID [<${hex(11).slice(0, 32)}> <${hex(11).slice(0, 32)}>]`;
  return Buffer.from(plain.replace('/Root 1 0 R >>', `/Root 1 0 R ${encrypt} >>`), 'latin1');
}

describe('PDF: detection and parameters', () => {
  it('recognises a PDF by its header, not images or text', async () => {
    assert.equal(isPdf(twoPagePdf()), true);
    assert.equal(isPdf(Buffer.concat([Buffer.from('\n\n'), twoPagePdf()])), true, 'a little junk before the header is allowed');
    assert.equal(isPdf(await solidImage(10, 10, [0, 0, 0], 'png')), false);
    assert.equal(isPdf(Buffer.from('plain text mentioning %PDF-1.7 late'.padStart(2000, ' '))), false);
  });

  it('normalises page and pdf-annotation, keeping one sign that an image is wanted', () => {
    assert.equal(parseParams('page=2&w=100').canonical, 'page=2&w=100');
    assert.equal(parseParams('page=1&w=100').canonical, 'w=100', 'the default page next to other parameters is dropped');
    assert.equal(parseParams('page=1').canonical, 'page=1', 'alone, it still asks for a rendered page');
    assert.equal(parseParams('annotation=false').canonical, 'pdf-annotation=false', 'the alias');
    assert.equal(parseParams('pdf-annotation=true&w=100').canonical, 'w=100');
    assert.equal(parseParams('page=0&w=100').canonical, 'w=100', 'below the suggested minimum: the first page');
    assert.throws(() => parseParams('page=two'), /page must be an integer/);
  });
});

describe('PDF: rendering a page', () => {
  it('renders page 1 at its size in points, as PNG by default, with its annotation', async () => {
    const result = await renderQuery(twoPagePdf(), 'page=1');
    assert.equal(result.format, 'png');
    assert.equal(result.contentType, 'image/png');
    const image = await pixels(result.body);
    assert.deepEqual([image.width, image.height, image.channels], [400, 300, 3], 'opaque RGB');
    assert.ok(near(image.at(300, 200), RED, 2), `page colour ${image.at(300, 200)}`);
    assert.ok(near(image.at(20, 20), BLUE, 2), `annotation at the top left ${image.at(20, 20)}`);
    assert.ok(near(image.at(120, 20), RED, 2), 'the annotation ends at 100 pt');
  });

  it('page 2 differs from page 1: its own size and colour', async () => {
    const image = await pixels((await renderQuery(twoPagePdf(), 'page=2')).body);
    assert.deepEqual([image.width, image.height], [300, 400]);
    assert.ok(near(image.at(150, 200), GREEN, 2), `${image.at(150, 200)}`);
    assert.ok(near(image.at(10, 10), GREEN, 2), 'no annotation on page 2');
  });

  it('pdf-annotation=false hides the annotation', async () => {
    const image = await pixels((await renderQuery(twoPagePdf(), 'pdf-annotation=false')).body);
    assert.ok(near(image.at(20, 20), RED, 2), `${image.at(20, 20)}`);
  });

  it('w=300 gives 300 px wide; an upscale is drawn at the output size, not resampled', async () => {
    const small = await renderQuery(twoPagePdf(), 'w=300');
    assert.deepEqual([small.width, small.height], [300, 225]);
    const large = await prepareRender(twoPagePdf(), parseParams('w=2000').params, OPTIONS);
    assert.deepEqual(large.pdf?.raster, { width: 2000, height: 1500 });
    const image = await pixels((await renderQuery(twoPagePdf(), 'w=2000')).body);
    assert.deepEqual([image.width, image.height], [2000, 1500]);
    // The annotation's edge at 100 pt is 500 px here: sharp (one pixel), not a blurred upscale of 100 px.
    assert.ok(near(image.at(498, 50), BLUE, 2) && near(image.at(501, 50), RED, 2), `${image.at(498, 50)} ${image.at(501, 50)}`);
  });

  it('every other parameter applies: fm=webp, fit=crop, rect, blur, pad, fm=blurhash', async () => {
    const webp = await renderQuery(twoPagePdf(), 'fm=webp&w=200&page=2');
    assert.equal((await sharp(webp.body).metadata()).format, 'webp');
    assert.deepEqual([webp.width, webp.height], [200, 267]);
    // The left 300 pt of the page scaled to 100 px: the annotation (100 pt) is its top-left third.
    const crop = await pixels((await renderQuery(twoPagePdf(), 'w=100&h=100&fit=crop&crop=left&fm=jpg')).body);
    assert.ok(near(crop.at(10, 10), BLUE) && near(crop.at(60, 10), RED), `${crop.at(10, 10)} ${crop.at(60, 10)}`);
    const rect = await pixels((await renderQuery(twoPagePdf(), 'rect=50,50,100,100')).body);
    assert.deepEqual([rect.width, rect.height], [100, 100], 'rect in points');
    assert.ok(near(rect.at(10, 10), BLUE, 2) && near(rect.at(90, 90), RED, 2));
    const padded = await pixels((await renderQuery(twoPagePdf(), 'w=100&pad=10&bg=000')).body);
    assert.deepEqual([padded.width, padded.height], [100, 80], 'the padding fits inside the requested width');
    assert.ok(near(padded.at(2, 2), [0, 0, 0], 2));
    const hash = await renderQuery(twoPagePdf(), 'fm=blurhash&page=2');
    assert.match(hash.body.toString(), /^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{20,}$/);
  });

  it('applies the page rotation', async () => {
    const rotated = buildPdf([{ width: 400, height: 300, fill: [0, 0, 1], rotate: 90 }]);
    const result = await renderQuery(rotated, 'w=150');
    assert.deepEqual([result.width, result.height], [150, 200]);
  });

  it('fm=json reports the page count and the page size', async () => {
    const result = await renderQuery(twoPagePdf(), 'fm=json');
    const json = JSON.parse(result.body.toString()) as Record<string, unknown>;
    assert.equal(result.contentType, 'application/json');
    assert.equal(json['Content-Type'], 'application/pdf');
    assert.deepEqual([json.PixelWidth, json.PixelHeight, json.DPIWidth], [400, 300, 72]);
    assert.deepEqual(json.PDF, { PageCount: 2, Page: 1, PageWidth: 400, PageHeight: 300 });
  });
});

describe('PDF: hostile and broken documents', () => {
  it('a page beyond the document is a 400 naming the page count', async () => {
    const { status, message } = await failure(renderQuery(twoPagePdf(), 'page=99'));
    assert.equal(status, 400);
    assert.match(message, /page must be between 1 and 2: this PDF has 2 pages, got "99"/);
    assert.equal((await failure(renderQuery(twoPagePdf(), 'page=99999999999999999999'))).status, 400);
  });

  it('a corrupt, a truncated and a password-protected PDF are 422', async () => {
    const corrupt = await failure(renderQuery(Buffer.from('%PDF-1.7\n'.padEnd(4000, '\u0001garbage ')), 'w=100'));
    assert.deepEqual([corrupt.status, corrupt.code], [422, 'UNSUPPORTED_IMAGE']);
    const truncated = twoPagePdf().subarray(0, 30);
    assert.equal((await failure(renderQuery(truncated, 'w=100'))).status, 422);
    const locked = await failure(renderQuery(encryptedPdf(), 'w=100'));
    assert.equal(locked.status, 422);
    assert.match(locked.message, /password-protected/);
  });

  it('a huge page is drawn at the size the output needs, never at its own', async () => {
    // 14400 pt = 200 inches, the largest page PDF allows: 207 million pixels at 72 dpi.
    const poster = buildPdf([{ width: 14400, height: 14400, fill: [0, 1, 0] }]);
    const thumb = await prepareRender(poster, parseParams('w=64').params, OPTIONS);
    assert.deepEqual(thumb.pdf?.raster, { width: 64, height: 64 });
    assert.ok(thumb.cost.heavy, 'PDF renders run in a render process, where the deadline can stop them');
    const unsized = await prepareRender(poster, parseParams('page=1').params, { ...OPTIONS, limits: { maxSide: 500, maxPixels: 500 * 500 } });
    assert.deepEqual(unsized.pdf?.raster, { width: 500, height: 500 }, 'capped by the output limits');
    const result = await renderQuery(poster, 'w=64');
    assert.deepEqual([result.width, result.height], [64, 64]);
    // rect works in the page's own coordinates, so it needs the page at full size: over the pixel limit.
    const tooLarge = await failure(renderQuery(poster, 'rect=0,0,100,100'));
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.message, /14400×14400 points/);
  });

  it('a document of more than MAX_PDF_PAGES pages is a 413 naming the limit, and so is one whose structure outgrows the PDF thread', async () => {
    const pages = (count: number) => buildPdf(Array.from({ length: count }, (_, i) => ({ width: 200, height: 100, fill: [i % 2, 0.5, 0.2] as const })));
    const over = await failure(renderQuery(pages(MAX_PDF_PAGES + 1), `page=${MAX_PDF_PAGES}&w=100`));
    assert.equal(over.status, 413);
    assert.match(over.message, new RegExp(`This PDF has ${MAX_PDF_PAGES + 1} pages, more than the limit of ${MAX_PDF_PAGES}`));
    // One flat page tree of 60,000 pages: pdf.js keeps a dictionary of every page when it opens the document,
    // more than its heap may hold, before the page count can be checked.
    const huge = await failure(renderQuery(pages(60_000), 'w=100'));
    assert.equal(huge.status, 413);
    assert.match(huge.message, new RegExp(`needs more than the ${PDF_HEAP_MB} MB of memory a document may take`));
    const after = await renderQuery(twoPagePdf(), 'w=50');
    assert.equal(after.width, 50, 'the next document is read by a new thread');
  });

  it('charges the raster in the memory estimate', async () => {
    const small = await prepareRender(twoPagePdf(), parseParams('w=100').params, OPTIONS);
    const large = await prepareRender(twoPagePdf(), parseParams('w=4000').params, OPTIONS);
    assert.ok(large.cost.bytes - small.cost.bytes >= 4000 * 3000 * 14, `${small.cost.bytes} → ${large.cost.bytes}`);
  });
});

describe('PDF over HTTP, through a Source', () => {
  let t: TestPictor;
  const pdf = twoPagePdf();
  before(async () => {
    t = await startPictor({ assets: { 'doc.pdf': pdf, 'broken.pdf': Buffer.from('%PDF-1.4\nnot really\n') } });
  });
  after(() => t.stop());

  it('serves the file itself without parameters, a rendered page with any', async () => {
    const original = await rawGet(t.renderPort, '/doc.pdf');
    assert.equal(original.status, 200);
    assert.equal(original.headers['content-type'], 'application/pdf');
    assert.deepEqual(original.body, pdf);

    const page = await rawGet(t.renderPort, '/doc.pdf?page=2&w=150');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'image/png');
    const image = await pixels(page.body);
    assert.deepEqual([image.width, image.height], [150, 200]);
    assert.ok(near(image.at(75, 100), GREEN, 2));

    const webp = await rawGet(t.renderPort, '/doc.pdf?w=80&fm=webp');
    assert.equal(webp.headers['content-type'], 'image/webp');
  });

  it('answers 400 for a page beyond the document and 422 for a broken one', async () => {
    const missing = await rawGet(t.renderPort, '/doc.pdf?page=99');
    assert.equal(missing.status, 400);
    assert.match(missing.body.toString(), /this PDF has 2 pages/);
    const broken = await rawGet(t.renderPort, '/broken.pdf?w=100');
    assert.equal(broken.status, 422);
    assert.equal((await rawGet(t.renderPort, '/broken.pdf')).status, 200, 'without parameters it is passed through as it is');
  });
});
