import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateRenderCost, HEAVY_RENDER_BYTES, type InputInfo } from '../../src/render/cost.ts';
import { parseParams } from '../../src/render/params.ts';

const photo: InputInfo = { format: 'jpeg', width: 1600, height: 1067, progressive: false, frames: 1 };
const cost = (input: InputInfo, format: 'jpg' | 'webp' | 'avif' | 'png', width: number, height: number, query = '') =>
  estimateRenderCost(input, { format, width, height }, parseParams(query).params);

describe('estimateRenderCost', () => {
  it('a thumbnail is light, an 8192² AVIF is heavy and costs gigabytes', () => {
    assert.equal(cost(photo, 'jpg', 400, 267).heavy, false);
    const avif = cost(photo, 'avif', 8192, 8192);
    assert.equal(avif.heavy, true);
    assert.ok(avif.bytes > 1.5 * 1024 ** 3, `${avif.bytes}`);
  });

  it('grows with output pixels, and by codec: PNG < JPEG < AVIF for the same size', () => {
    assert.ok(cost(photo, 'jpg', 4000, 4000).bytes > cost(photo, 'jpg', 2000, 2000).bytes);
    const png = cost(photo, 'png', 4000, 4000).bytes;
    const jpg = cost(photo, 'jpg', 4000, 4000).bytes;
    const avif = cost(photo, 'avif', 4000, 4000).bytes;
    assert.ok(png < jpg && jpg < avif, `${png} ${jpg} ${avif}`);
  });

  it('whole-image decoders are charged per input pixel, streaming ones barely', () => {
    const huge = { width: 8000, height: 8000, frames: 1 };
    const baseline = cost({ ...huge, format: 'jpeg', progressive: false }, 'jpg', 100, 100).bytes;
    const progressive = cost({ ...huge, format: 'jpeg', progressive: true }, 'jpg', 100, 100).bytes;
    const avifInput = cost({ ...huge, format: 'avif', progressive: false }, 'jpg', 100, 100).bytes;
    assert.ok(baseline < HEAVY_RENDER_BYTES, `${baseline}`);
    assert.ok(progressive > 4 * baseline && progressive >= HEAVY_RENDER_BYTES, `${progressive}`);
    assert.ok(avifInput > progressive, `${avifInput}`);
  });

  it('vector inputs are always heavy and charged at the size they are rasterised to', () => {
    const svg: InputInfo = { format: 'svg', width: 9990, height: 9990, progressive: false, frames: 1 };
    const small = cost(svg, 'png', 100, 100);
    assert.equal(small.heavy, true);
    assert.ok(small.bytes < 8 * 1024 * 1024, `${small.bytes}`);
    assert.ok(cost(svg, 'png', 8192, 8192).bytes > 30 * small.bytes);
    const filtered = cost({ ...svg, filters: true }, 'png', 4000, 4000).bytes;
    assert.ok(filtered > 5 * cost(svg, 'png', 4000, 4000).bytes, 'filter effects multiply what rasterising takes');
  });

  it('steps that hold a whole raw copy add to it; trim is charged at the input size', () => {
    const plain = cost(photo, 'jpg', 2000, 2000).bytes;
    assert.ok(cost(photo, 'jpg', 2000, 2000, 'blur=50').bytes > plain);
    assert.ok(cost(photo, 'jpg', 2000, 2000, 'rot=33').bytes > cost(photo, 'jpg', 2000, 2000, 'blur=50').bytes);
    const huge: InputInfo = { format: 'png', width: 8000, height: 8000, progressive: false, frames: 1 };
    assert.ok(cost(huge, 'png', 100, 100, 'trim=auto').bytes > 8000 * 8000 * 4);
  });
});
