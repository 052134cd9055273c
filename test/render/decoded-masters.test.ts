import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DecodedMasters } from '../../src/render/decoded-masters.ts';
import { parseParams } from '../../src/render/params.ts';
import { render } from '../../src/render/pipeline.ts';
import { exifRotatedJpeg, gradientJpeg } from './fixtures.ts';

const LIMIT = 100_000_000;

async function both(query: string, masters: DecodedMasters) {
  const input = await gradientJpeg();
  const { params } = parseParams(query);
  const direct = await render(input, params, { acceptClass: '', maxInputPixels: LIMIT });
  const fromLevel = await render(input, params, { acceptClass: '', maxInputPixels: LIMIT, decoded: { masters, masterKey: 'gradient' } });
  return { direct, fromLevel };
}

/** Mean absolute difference per channel value between two images of the same size. */
async function difference(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([sharp(a).raw().toBuffer(), sharp(b).raw().toBuffer()]);
  let sum = 0;
  for (let i = 0; i < ra.length; i++) sum += Math.abs(ra[i]! - rb[i]!);
  return sum / ra.length;
}

describe('decoded, pre-shrunk masters', () => {
  it('renders every srcset width the same as decoding the master each time', async () => {
    const masters = new DecodedMasters(256 * 1024 * 1024);
    for (const query of ['w=240', 'w=480&fm=webp', 'w=900', 'w=1600', 'w=300&h=300&fit=crop', 'w=400&h=400&fit=fill&bg=f00', 'w=200&h=500&fit=scale', 'h=0.3']) {
      const { direct, fromLevel } = await both(query, masters);
      assert.equal(fromLevel.width, direct.width, query);
      assert.equal(fromLevel.height, direct.height, query);
      assert.equal(fromLevel.contentType, direct.contentType, query);
      assert.ok((await difference(direct.body, fromLevel.body)) < 3, `${query}: pixels match`);
    }
    assert.ok(masters.bytes > 0, 'levels are kept');
    assert.ok(masters.bytes < 2000 * 1333 * 3 * 2, 'only the levels needed');
  });

  it('picks the smallest level that still covers the output', async () => {
    const masters = new DecodedMasters(256 * 1024 * 1024);
    await both('w=200', masters); // 1/8 level: 250 px wide
    assert.ok(masters.bytes <= 250 * 167 * 3 + 1024, `${masters.bytes} bytes`);
  });

  it('bakes EXIF orientation into the levels', async () => {
    const masters = new DecodedMasters(256 * 1024 * 1024);
    const input = await exifRotatedJpeg();
    const { params } = parseParams('w=100');
    const direct = await render(input, params, { acceptClass: '', maxInputPixels: LIMIT });
    const fromLevel = await render(input, params, { acceptClass: '', maxInputPixels: LIMIT, decoded: { masters, masterKey: 'exif' } });
    assert.deepEqual([fromLevel.width, fromLevel.height], [direct.width, direct.height]);
    assert.ok(direct.height! > direct.width!, 'portrait');
    assert.ok(masters.bytes > 0);
  });

  it('leaves renders that need full-resolution coordinates to the master', async () => {
    const masters = new DecodedMasters(256 * 1024 * 1024);
    for (const query of ['rect=10,10,500,400&w=100', 'trim=auto&w=100', 'orient=6&w=100', 'fm=png']) await both(query, masters);
    assert.equal(masters.bytes, 0);
  });
});
