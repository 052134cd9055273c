import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import sharp from 'sharp';
import { PipelineBuilder } from '../../src/render/builder.ts';
import { parseParams } from '../../src/render/params.ts';
import { render } from '../../src/render/pipeline.ts';
import { exifRotatedJpeg, gradientJpeg, OPTIONS, renderQuery, sizeOf } from './fixtures.ts';

async function dims(query: string, input?: Buffer): Promise<[number, number]> {
  const result = await renderQuery(input ?? (await gradientJpeg()), query);
  const actual = await sizeOf(result.body);
  assert.deepEqual([result.width, result.height], actual, 'reported size matches the encoded image');
  return actual;
}

describe('render: sizes for every fit mode (2000×1333 source)', () => {
  const cases: [string, [number, number]][] = [
    ['w=400&h=400&fit=crop', [400, 400]],
    ['w=400&h=400', [400, 267]],
    ['w=400&h=400&fit=clip', [400, 267]],
    ['w=4000&h=4000', [4000, 2666]],
    ['fit=max&w=4000', [2000, 1333]],
    ['w=400&h=400&fit=max', [400, 267]],
    ['w=400&h=400&fit=scale', [400, 400]],
    ['w=400&h=400&fit=fill', [400, 400]],
    ['w=400&h=400&fit=fill&fill=blur', [400, 400]],
    ['w=400&h=400&fit=fillmax', [400, 400]],
    ['w=3000&h=3000&fit=fillmax', [3000, 3000]],
    ['w=400&h=400&fit=clamp', [400, 400]],
    ['w=400&h=300&fit=min', [400, 300]],
    ['w=4000&h=1000&fit=min', [2000, 500]],
    ['w=400&h=400&fit=facearea', [400, 267]],
    ['h=200', [300, 200]],
    ['', [2000, 1333]],
  ];
  for (const [query, expected] of cases) {
    it(`${query || '(no parameters)'} → ${expected.join('×')}`, async () => {
      assert.deepEqual(await dims(query), expected);
    });
  }
});

describe('render: fractions, dpr, rect, ar, bounds', () => {
  it('w and h as fractions of the source', async () => {
    assert.deepEqual(await dims('w=0.5'), [1000, 667]);
    assert.deepEqual(await dims('w=1'), [2000, 1333]);
    assert.deepEqual(await dims('w=0.1&h=0.1&fit=crop'), [200, 133]);
  });

  it('dpr multiplies w/h', async () => {
    assert.deepEqual(await dims('w=200&dpr=2'), [400, 267]);
    assert.deepEqual(await dims('w=100&h=100&fit=crop&dpr=3'), [300, 300]);
  });

  it('rect crops the source before resizing', async () => {
    assert.deepEqual(await dims('rect=100,100,1000,500'), [1000, 500]);
    assert.deepEqual(await dims('rect=100,100,1000,500&w=500'), [500, 250]);
    assert.deepEqual(await dims('rect=0,0,0.5,0.5'), [1000, 667]);
  });

  it('ar with fit=crop', async () => {
    assert.deepEqual(await dims('w=400&ar=16:9&fit=crop'), [400, 225]);
    assert.deepEqual(await dims('h=300&ar=1:2&fit=crop'), [150, 300]);
  });

  it('max-h / min-w bound the crop', async () => {
    assert.deepEqual(await dims('w=900&fit=crop&max-h=400'), [900, 400]);
    assert.deepEqual(await dims('h=100&fit=crop&min-w=400'), [400, 100]);
  });

  it('never exceeds 8192 a side, keeping the aspect ratio', async () => {
    const [w, h] = await dims('w=8192&dpr=2');
    assert.equal(w, 8192);
    assert.equal(h, Math.round((8192 * 1333) / 2000));
    const [pw, ph] = await dims('w=8000&h=8000&fit=crop&pad=300', await sharp({ create: { width: 100, height: 100, channels: 3, background: '#000' } }).png().toBuffer());
    assert.ok(pw <= 8192 && ph <= 8192 && pw === ph, `${pw}×${ph}`);
  });

  it('honours a smaller maxOutputSide', async () => {
    const result = await render(await gradientJpeg(), parseParams('').params, { ...OPTIONS, limits: { maxSide: 500, maxPixels: 500 * 500 } });
    assert.deepEqual([result.width, result.height], [500, 333]);
  });
});

describe('render: orientation', () => {
  it('applies EXIF orientation 6 (landscape pixels → portrait)', async () => {
    assert.deepEqual(await dims('', await exifRotatedJpeg()), [300, 400]);
    assert.deepEqual(await dims('w=150', await exifRotatedJpeg()), [150, 200]);
  });

  it('orient overrides EXIF (orient=1 ignores it)', async () => {
    assert.deepEqual(await dims('orient=1', await exifRotatedJpeg()), [400, 300]);
    assert.deepEqual(await dims('orient=90'), [1333, 2000]);
    assert.deepEqual(await dims('orient=3'), [2000, 1333]);
  });

  it('orient=N gives the same pixels as a file tagged with EXIF orientation N', async () => {
    const raw = Buffer.alloc(3 * 2 * 3);
    for (let i = 0; i < 6; i++) raw.set([i * 40, 255 - i * 40, i * 10], i * 3);
    const base = await sharp(raw, { raw: { width: 3, height: 2, channels: 3 } }).png().toBuffer();
    for (let n = 1; n <= 8; n++) {
      const tagged = await sharp(base).withMetadata({ orientation: n }).png().toBuffer();
      const expected = await sharp(tagged).autoOrient().raw().toBuffer();
      const result = await renderQuery(base, `orient=${n}&fm=png`);
      assert.deepEqual(await sharp(result.body).raw().toBuffer(), expected, `orient=${n}`);
    }
  });

  it('rot keeps the frame (straighten); rot-type=pivot rotates the frame', async () => {
    assert.deepEqual(await dims('w=400&rot=90'), [400, 267]);
    assert.deepEqual(await dims('w=400&rot=30'), [400, 267]);
    assert.deepEqual(await dims('w=400&rot=90&rot-type=pivot'), [267, 400]);
    assert.deepEqual(await dims('w=400&rot=180&rot-type=pivot'), [400, 267]);
    const [w, h] = await dims('w=400&rot=45&rot-type=pivot');
    assert.ok(Math.abs(w - 472) <= 2 && Math.abs(h - 472) <= 2, `${w}×${h}`);
  });

  it('flip keeps the size', async () => {
    assert.deepEqual(await dims('w=400&flip=hv'), [400, 267]);
  });
});

describe('render: trim', () => {
  const framed = async () => {
    const square = await sharp({ create: { width: 100, height: 60, channels: 3, background: '#c00' } }).png().toBuffer();
    return sharp({ create: { width: 300, height: 200, channels: 3, background: '#fff' } }).composite([{ input: square, left: 120, top: 70 }]).png().toBuffer();
  };

  it('trim=auto removes the border matching the top-left pixel', async () => {
    assert.deepEqual(await dims('trim=auto', await framed()), [100, 60]);
    assert.deepEqual(await dims('trim=auto&w=50', await framed()), [50, 30]);
  });

  it('trim=color removes trim-color', async () => {
    assert.deepEqual(await dims('trim=color&trim-color=fff', await framed()), [100, 60]);
  });
});

describe('render: pipeline count', () => {
  it('renders resize + encode in one sharp pipeline (no intermediate buffers)', async (t) => {
    const materialize = t.mock.method(PipelineBuilder.prototype, 'materialize');
    for (const query of ['w=400', 'w=400&h=400&fit=crop', 'w=400&h=300&fit=fill&bg=f00&pad=10', 'w=400&bri=10&con=10&sat=-20&invert=1&fm=webp']) {
      await renderQuery(await gradientJpeg(), query);
    }
    assert.equal(materialize.mock.callCount(), 0);
    mock.restoreAll();
  });
});
