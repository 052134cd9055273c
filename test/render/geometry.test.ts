import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planGeometry, resolveRect, rotatedBounds, straightenScale } from '../../src/render/geometry.ts';
import { parseParams } from '../../src/render/params.ts';

const SOURCE = { width: 2000, height: 1333 };
const plan = (query: string, max = 8192) => planGeometry(SOURCE, parseParams(query).params, { maxSide: max, maxPixels: max * max });

describe('planGeometry', () => {
  it('clip fits inside the box (one side matches)', () => {
    assert.deepEqual(plan('w=400&h=400').resize, { kind: 'scale', width: 400, height: 267 });
  });

  it('crop covers the box with a gravity', () => {
    assert.deepEqual(plan('w=400&h=400&fit=crop&crop=bottom,right').resize, { kind: 'cover', width: 400, height: 400, position: 'southeast' });
    assert.deepEqual(plan('w=400&h=400&fit=crop&crop=faces,edges').resize, { kind: 'cover', width: 400, height: 400, position: 'attention' });
  });

  it('max never upscales; fillmax keeps the box', () => {
    assert.deepEqual(plan('w=4000&fit=max').resize, { kind: 'none' });
    const fillmax = plan('w=4000&h=4000&fit=fillmax').resize;
    assert.equal(fillmax.kind, 'contain');
    assert.ok(fillmax.kind === 'contain' && fillmax.width === 4000 && fillmax.inner.width === 2000);
  });

  it('min crops to the aspect ratio without exceeding the source', () => {
    assert.deepEqual(plan('w=4000&h=1000&fit=min').resize, { kind: 'cover', width: 2000, height: 500, position: 'centre' });
  });

  it('ar with one side, and ar alone', () => {
    assert.deepEqual(plan('w=400&fit=crop&ar=16:9').resize, { kind: 'cover', width: 400, height: 225, position: 'centre' });
    assert.deepEqual(plan('fit=crop&ar=1:1').resize, { kind: 'cover', width: 1333, height: 1333, position: 'centre' });
  });

  it('max-h bounds the derived side of a crop', () => {
    assert.deepEqual(plan('w=900&fit=crop&max-h=400').resize, { kind: 'cover', width: 900, height: 400, position: 'centre' });
  });

  it('focal point zooms around fp-x/fp-y and stays inside the image', () => {
    const focal = plan('w=400&h=400&fit=crop&crop=focalpoint&fp-x=1&fp-y=0&fp-z=2').resize;
    assert.deepEqual(focal, { kind: 'focal', region: { left: 1333, top: 0, width: 667, height: 667 }, width: 400, height: 400 });
  });

  it('dpr multiplies w and h; fractions are of the source', () => {
    assert.deepEqual(plan('w=200&h=100&fit=scale&dpr=2').resize, { kind: 'scale', width: 400, height: 200 });
    assert.deepEqual(plan('w=0.25').resize, { kind: 'scale', width: 500, height: 333 });
  });

  it('caps the output (padding included) at the maximum side, keeping the aspect ratio', () => {
    const capped = plan('w=8192&h=8192&fit=crop&pad=100');
    assert.equal(capped.resize.kind, 'cover');
    const side = capped.resize.kind === 'cover' ? capped.resize.width + capped.padding.left + capped.padding.right : 0;
    assert.ok(side <= 8192, `${side}`);
    assert.deepEqual(plan('', 1000).resize, { kind: 'scale', width: 1000, height: 666 });
  });
});

describe('resolveRect / rotation helpers', () => {
  it('takes pixels, fractions and keywords, clamped to the image', () => {
    assert.deepEqual(resolveRect([10, 20, 100, 50], SOURCE), { left: 10, top: 20, width: 100, height: 50 });
    assert.deepEqual(resolveRect(['center', 'bottom', 0.5, 0.5], SOURCE), { left: 500, top: 666, width: 1000, height: 667 });
    assert.deepEqual(resolveRect([1900, 0, 500, 99999], SOURCE), { left: 1900, top: 0, width: 100, height: 1333 });
  });

  it('computes rotated bounds and the straighten zoom', () => {
    assert.deepEqual(rotatedBounds({ width: 400, height: 200 }, 90), { width: 200, height: 400 });
    assert.equal(straightenScale({ width: 400, height: 200 }, 90), 0.5);
    assert.ok(Math.abs(straightenScale({ width: 400, height: 200 }, 180) - 1) < 1e-9);
  });
});
