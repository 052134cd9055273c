import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBlurhashValid } from 'blurhash';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { detectImageFormat } from '../../src/render/detect.ts';
import { acceptClass } from '../../src/render/negotiate.ts';
import { parseParams } from '../../src/render/params.ts';
import { render } from '../../src/render/pipeline.ts';
import { mapSharpError } from '../../src/render/sharp-errors.ts';
import { alphaPng, exifRotatedJpeg, gradientJpeg, hugeHeaderPng, OPTIONS, renderQuery, solid } from './fixtures.ts';

function rejectsWith(code: string) {
  return (error: unknown) => {
    assert.ok(isPictorError(error), `a PictorError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('render: output formats', () => {
  const cases: [string, string, string, string][] = [
    ['fm=jpg', 'jpeg', 'jpg', 'image/jpeg'],
    ['fm=pjpg', 'jpeg', 'jpg', 'image/jpeg'],
    ['fm=png', 'png', 'png', 'image/png'],
    ['fm=png8', 'png', 'png', 'image/png'],
    ['fm=png32', 'png', 'png', 'image/png'],
    ['fm=webp', 'webp', 'webp', 'image/webp'],
    ['fm=avif', 'avif', 'avif', 'image/avif'],
    ['fm=gif', 'gif', 'gif', 'image/gif'],
  ];
  for (const [query, magic, format, contentType] of cases) {
    it(`${query} → ${format}`, async () => {
      const result = await renderQuery(await gradientJpeg(), `w=200&${query}`);
      assert.equal(detectImageFormat(result.body), magic);
      assert.equal(result.format, format);
      assert.equal(result.contentType, contentType);
    });
  }

  it('pjpg and jpg are progressive (imgix\'s default); png32 has alpha; png8 is a palette', async () => {
    const input = await gradientJpeg();
    assert.equal((await sharp((await renderQuery(input, 'w=200&fm=pjpg')).body).metadata()).isProgressive, true);
    assert.equal((await sharp((await renderQuery(input, 'w=200&fm=jpg')).body).metadata()).isProgressive, true);
    assert.equal((await sharp((await renderQuery(input, 'w=200&fm=png32')).body).metadata()).channels, 4);
    assert.equal((await sharp((await renderQuery(input, 'w=200&fm=png8')).body).metadata()).isPalette, true);
  });

  it('keeps the source format without fm (svg → png, tiff → jpg)', async () => {
    assert.equal((await renderQuery(await gradientJpeg(), 'w=100')).format, 'jpg');
    assert.equal((await renderQuery(await alphaPng(), 'w=100')).format, 'png');
    assert.equal((await renderQuery(await solid(50, 50, [1, 2, 3], 'png'), 'fm=gif')).format, 'gif');
    const gif = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#f00' } }).gif().toBuffer();
    assert.equal((await renderQuery(gif, 'w=10')).format, 'gif');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#0f0"/></svg>');
    const fromSvg = await renderQuery(svg, 'w=240');
    assert.deepEqual([fromSvg.format, fromSvg.width, fromSvg.height], ['png', 240, 120]);
    const tiff = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#00f' } }).tiff().toBuffer();
    assert.equal((await renderQuery(tiff, '')).format, 'jpg');
  });

  it('lower q gives smaller files (jpg, webp, avif)', async () => {
    const input = await gradientJpeg();
    for (const fm of ['jpg', 'webp', 'avif']) {
      const low = await renderQuery(input, `w=600&fm=${fm}&q=20`);
      const high = await renderQuery(input, `w=600&fm=${fm}&q=90`);
      assert.ok(low.body.length < high.body.length, `${fm}: ${low.body.length} < ${high.body.length}`);
    }
  });

  it('auto=compress lowers the default quality to 45 unless q is given', async () => {
    const input = await gradientJpeg();
    const plain = await renderQuery(input, 'w=600');
    const compressed = await renderQuery(input, 'w=600&auto=compress');
    const explicit = await renderQuery(input, 'w=600&auto=compress&q=75');
    assert.ok(compressed.body.length < plain.body.length);
    assert.equal(explicit.body.length, plain.body.length);
  });

  it('auto=compress picks PNG for alpha and JPEG otherwise (unless fm is set)', async () => {
    assert.equal((await renderQuery(await alphaPng(), 'auto=compress')).format, 'png');
    assert.equal((await renderQuery(await solid(50, 50, [9, 9, 9], 'png'), 'auto=compress')).format, 'jpg');
    assert.equal((await renderQuery(await solid(50, 50, [9, 9, 9], 'png'), 'auto=compress&fm=webp')).format, 'webp');
  });

  it('lossless WebP reproduces the pixels exactly', async () => {
    const input = await solid(40, 40, [12, 200, 99], 'png');
    const result = await renderQuery(input, 'fm=webp&lossless=1');
    assert.deepEqual(await sharp(result.body).raw().toBuffer(), await sharp(input).raw().toBuffer());
  });
});

describe('render: auto=format', () => {
  const run = async (accept: string | undefined, extra = '') => {
    const { params } = parseParams(`auto=format${extra}`);
    return render(await gradientJpeg(), { ...params, w: 300 }, { ...OPTIONS, acceptClass: acceptClass(params, accept) });
  };

  it('serves AVIF when accepted', async () => {
    const result = await run('image/avif,image/webp,*/*');
    assert.equal(detectImageFormat(result.body), 'avif');
  });

  it('serves WebP when only WebP is accepted', async () => {
    assert.equal(detectImageFormat((await run('image/webp,*/*')).body), 'webp');
  });

  it('falls back to the source format, or fm', async () => {
    assert.equal(detectImageFormat((await run('image/png,*/*')).body), 'jpeg');
    assert.equal(detectImageFormat((await run(undefined, '&fm=png')).body), 'png');
  });

  it('with compress and no modern format: PNG for alpha, JPEG otherwise', async () => {
    const { params } = parseParams('auto=format,compress');
    const result = await render(await alphaPng(), params, { ...OPTIONS, acceptClass: 'none' });
    assert.equal(result.format, 'png');
  });
});

describe('render: data outputs', () => {
  it('fm=json describes the input', async () => {
    const input = await exifRotatedJpeg();
    const result = await renderQuery(input, 'fm=json&w=100');
    assert.equal(result.contentType, 'application/json');
    assert.equal(result.format, 'json');
    const json = JSON.parse(result.body.toString());
    assert.equal(json.PixelWidth, 400);
    assert.equal(json.PixelHeight, 300);
    assert.equal(json.Orientation, 6);
    assert.equal(json.ColorModel, 'RGB');
    assert.equal(json['Content-Type'], 'image/jpeg');
    assert.equal(json['Content-Length'], String(input.length));
    assert.equal(json.Depth, 8);
  });

  it('fm=blurhash returns a valid hash as text', async () => {
    const result = await renderQuery(await gradientJpeg(), 'fm=blurhash&w=600');
    assert.match(result.contentType, /^text\/plain/);
    const hash = result.body.toString();
    assert.equal(hash.length, 28, '4×3 components');
    assert.equal(isBlurhashValid(hash).result, true);
  });
});

describe('render: errors', () => {
  it('refuses inputs over the pixel limit from the header alone (413, before decoding)', async () => {
    // The data in this PNG is garbage: decoding it would be a 422, so a 413 proves no decoding happened.
    await assert.rejects(renderQuery(hugeHeaderPng(), 'w=100'), rejectsWith('INPUT_TOO_LARGE'));
    await assert.rejects(renderQuery(await gradientJpeg(), 'w=100', { maxInputPixels: 1_000_000 }), rejectsWith('INPUT_TOO_LARGE'));
  });

  it('answers 422 for corrupt or undecodable input', async () => {
    const jpeg = await gradientJpeg();
    await assert.rejects(renderQuery(jpeg.subarray(0, jpeg.length >> 1), 'w=100'), rejectsWith('UNSUPPORTED_IMAGE'));
    await assert.rejects(renderQuery(Buffer.from('not an image at all'), 'w=100'), rejectsWith('UNSUPPORTED_IMAGE'));
    await assert.rejects(renderQuery(Buffer.concat([jpeg.subarray(0, 20), Buffer.alloc(2000, 7)]), ''), rejectsWith('UNSUPPORTED_IMAGE'));
  });

  it('maps sharp timeouts to RENDER_TIMEOUT', () => {
    const error = mapSharpError(new Error('timeout: 19% complete'));
    assert.ok(isPictorError(error) && error.code === 'RENDER_TIMEOUT');
  });

  it('stops a render that exceeds timeoutSeconds', async () => {
    // ~10 s of blurring and sharpening at 8000×8000; libvips checks the budget while computing pixels.
    const noise = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg().toBuffer();
    // RENDER_TIMEOUT comes from libvips' own "timeout: N% complete", raised while it computes pixels.
    await assert.rejects(renderQuery(noise, 'w=8000&h=8000&fit=crop&blur=2000&sharp=100', { timeoutSeconds: 1 }), rejectsWith('RENDER_TIMEOUT'));
  });

  it('never crashes on absurd but valid values', async () => {
    const input = await solid(50, 40, [10, 20, 30], 'png');
    for (const query of ['w=8192&h=8192&fit=crop&pad=99999999', 'blur=99999&px=99999&sharp=1000', 'w=2&h=2&fit=crop&crop=focalpoint&fp-z=100', 'rect=49,39,99999,99999', 'w=0.0001&h=0.0001', 'rot=359.9&rot-type=pivot&bg=0000', 'trim=color&trim-tol=999999999']) {
      const result = await renderQuery(input, query);
      assert.ok(result.body.length > 0 && result.width! <= 8192 && result.height! <= 8192, query);
    }
  });
});
