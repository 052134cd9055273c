import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSeconds, estimateRenderCost, HEAVY_RENDER_BYTES, MAX_RENDER_SECONDS, RENDER_PROCESS_BYTES, type InputInfo } from '../../src/render/cost.ts';
import { paletteEffort } from '../../src/render/encode.ts';
import { parseParams } from '../../src/render/params.ts';

const photo: InputInfo = { format: 'jpeg', width: 1600, height: 1067, progressive: false, frames: 1 };
const cost = (input: InputInfo, format: 'jpg' | 'webp' | 'avif' | 'png' | 'png8' | 'gif', width: number, height: number, query = '') =>
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
    // Beside the render process that every heavy render holds.
    const render = (...args: Parameters<typeof cost>) => cost(...args).bytes - RENDER_PROCESS_BYTES;
    const small = cost(svg, 'png', 100, 100);
    assert.equal(small.heavy, true);
    assert.ok(render(svg, 'png', 100, 100) < 8 * 1024 * 1024, `${small.bytes}`);
    assert.ok(render(svg, 'png', 8192, 8192) > 30 * render(svg, 'png', 100, 100));
    const filtered = render({ ...svg, filters: true }, 'png', 4000, 4000);
    assert.ok(filtered > 5 * render(svg, 'png', 4000, 4000), 'filter effects multiply what rasterising takes');
  });

  it('a heavy render is charged for its render process and the copies of its files sent there', () => {
    const huge: InputInfo = { format: 'jpeg', width: 8000, height: 8000, progressive: true, frames: 1, encodedBytes: 40_000_000 };
    const withFiles = cost(huge, 'jpg', 100, 100);
    const without = cost({ ...huge, encodedBytes: 0 }, 'jpg', 100, 100);
    assert.equal(withFiles.heavy, true);
    assert.equal(withFiles.bytes - without.bytes, 2 * 40_000_000);
    assert.ok(without.bytes > RENDER_PROCESS_BYTES + 8000 * 8000 * 3, `${without.bytes}`);
  });

  it('a 16-bit input costs twice an 8-bit one where it is held whole and in a PNG encoder', () => {
    const png: InputInfo = { format: 'png', width: 6000, height: 6000, progressive: true, frames: 1, channels: 4 };
    const eight = cost(png, 'png', 6000, 6000, 'rot=33').bytes - RENDER_PROCESS_BYTES;
    const sixteen = cost({ ...png, sampleBytes: 2 }, 'png', 6000, 6000, 'rot=33').bytes - RENDER_PROCESS_BYTES;
    assert.ok(sixteen > 1.9 * eight, `${eight} → ${sixteen}`);
    // An interlaced PNG is decoded whole, every band at its depth: 8 bytes per pixel for 16-bit RGBA.
    assert.ok(cost({ ...png, sampleBytes: 2 }, 'jpg', 100, 100).bytes > 6000 * 6000 * 8);
  });

  it('slow encoders are charged in seconds: AVIF by its pixels, palettes and WebP by the input\'s grain too', () => {
    // A smooth photo (a JPEG of a few hundredths of a byte per pixel) and grain (half a byte per pixel).
    const smooth: InputInfo = { ...photo, bytesPerPixel: 0.015 };
    const grainy: InputInfo = { ...photo, bytesPerPixel: 0.5 };
    assert.ok(cost(smooth, 'avif', 3600, 3600).seconds < MAX_RENDER_SECONDS);
    assert.ok(cost(smooth, 'avif', 4000, 4000).seconds > MAX_RENDER_SECONDS, 'AVIF takes as long on a smooth photo');
    assert.ok(cost(grainy, 'gif', 8000, 8000).seconds > MAX_RENDER_SECONDS);
    assert.ok(cost(smooth, 'gif', 8000, 8000).seconds < cost(grainy, 'gif', 8000, 8000).seconds / 2);
    assert.ok(cost(grainy, 'gif', 4000, 4000).seconds < MAX_RENDER_SECONDS, 'a large palette is searched with the low effort');
    assert.ok(cost(grainy, 'webp', 8192, 8192).seconds > MAX_RENDER_SECONDS);
    assert.ok(cost(smooth, 'webp', 8192, 8192).seconds < MAX_RENDER_SECONDS);
    assert.equal(cost(grainy, 'jpg', 8192, 8192).seconds, 0);
    // An input whose grain cannot be told counts as grain.
    assert.equal(cost(photo, 'gif', 2000, 2000).seconds, cost(grainy, 'gif', 2000, 2000).seconds);
  });

  it('palettes get the full effort up to a million pixels, frames counted, and are charged for it', () => {
    assert.equal(paletteEffort(1000 * 1000), 7);
    assert.equal(paletteEffort(1000 * 1001), 3);
    assert.ok(encodeSeconds('png8', 1e6, 1) > 5, 'the full effort searches grain for seconds');
    assert.ok(encodeSeconds('png8', 2e6, 1) < encodeSeconds('png8', 1e6, 1), 'the low effort does not');
    const frames = estimateRenderCost({ ...photo, bytesPerPixel: 0.9, format: 'gif', frames: 100 }, { format: 'gif', width: 800, height: 600, frames: 100 }, {});
    assert.ok(frames.seconds > MAX_RENDER_SECONDS, `${frames.seconds}`);
  });

  it('rasterising SVG filter effects is charged in seconds: over MAX_RENDER_SECONDS at the sizes that take that long', () => {
    const bomb: InputInfo = { format: 'svg', width: 9990, height: 9990, progressive: false, frames: 1, filters: true };
    assert.ok(cost(bomb, 'png', 5000, 5000).seconds > MAX_RENDER_SECONDS, 'a blur over 5000² took about 30 s');
    assert.ok(cost(bomb, 'png', 1000, 1000).seconds < 2);
    assert.equal(cost({ ...bomb, filters: false }, 'png', 5000, 5000).seconds, 0);
  });

  it('steps that hold a whole raw copy add to it; trim is charged at the input size', () => {
    const plain = cost(photo, 'jpg', 2000, 2000).bytes;
    assert.ok(cost(photo, 'jpg', 2000, 2000, 'blur=50').bytes > plain);
    assert.ok(cost(photo, 'jpg', 2000, 2000, 'rot=33').bytes > cost(photo, 'jpg', 2000, 2000, 'blur=50').bytes);
    const huge: InputInfo = { format: 'png', width: 8000, height: 8000, progressive: false, frames: 1 };
    assert.ok(cost(huge, 'png', 100, 100, 'trim=auto').bytes > 8000 * 8000 * 4);
  });
});
