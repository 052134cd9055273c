import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { decodeBytes } from '../../src/render/decode-cost.ts';
import { layersCost, readLayers } from '../../src/render/layer-cost.ts';
import { parseParams } from '../../src/render/params.ts';
import { readSubImageHeader } from '../../src/render/steps/overlay.ts';
import { planText, textExtent } from '../../src/render/steps/text.ts';
import { layoutText } from '../../src/render/text/layout.ts';
import { configureSharp } from '../../src/render/runtime.ts';

configureSharp(1);

const exec = (image: Sharp) => image.toBuffer({ resolveWithObject: true });

/** A size² image of random colours (and alphas), in 16 × 16 blocks. */
function blocks(width: number, height: number, channels: 3 | 4): Sharp {
  const noise = { type: 'gaussian' as const, mean: 128, sigma: 60 };
  return sharp({ create: { width: 16, height: 16, channels, background: '#808080', noise } }).resize(width, height, { kernel: 'nearest' });
}

describe('layer costs: sub-images, masks and text are charged at the sizes their steps really make', () => {
  it('a sub-image header gives what sharp really decodes: bands and bytes per sample, 16-bit PNGs at 2 bytes', async () => {
    const images = {
      rgb8: await blocks(300, 200, 3).png().toBuffer(),
      rgba8: await blocks(300, 200, 4).png().toBuffer(),
      rgba16: await blocks(300, 200, 4).toColourspace('rgb16').png().toBuffer(),
      interlaced16: await blocks(300, 200, 4).toColourspace('rgb16').png({ progressive: true }).toBuffer(),
    };
    for (const [name, buffer] of Object.entries(images)) {
      const header = await readSubImageHeader('mark', buffer, 1e8);
      const { data } = await sharp(buffer).raw({ depth: header.sampleBytes === 2 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
      assert.equal(header.width * header.height * header.channels * header.sampleBytes, data.length, `${name}: the decoded image's bytes`);
      if (header.progressive) assert.ok(decodeBytes(header) >= data.length, `${name}: an interlaced PNG is decoded whole`);
    }
    assert.equal((await readSubImageHeader('mark', images.rgba16, 1e8)).sampleBytes, 2);
  });

  it('a sub-image over the input pixel limit is refused from its header, naming the layer', async () => {
    const big = await blocks(3000, 2000, 3).png().toBuffer();
    await assert.rejects(readSubImageHeader('blend', big, 5_000_000), (error: Error & { status?: number; pointer?: string }) => error.status === 413 && error.pointer === 'blend');
  });

  it('a blend is charged for the part of it inside the image, a mark at the size it is drawn, each with its decoder', async () => {
    const base = { width: 2000, height: 1000 };
    const blend = await readSubImageHeader('blend', await blocks(5000, 5000, 4).png().toBuffer(), 1e8);
    const inside = layersCost(base, parseParams('blend=b.png&blend-mode=normal').params, { blend });
    // Centred and larger than the image: its visible part is the image; sharp composites `normal` in the pipeline.
    assert.ok(inside >= 4 * 2000 * 1000 + decodeBytes(blend), `${inside}`);
    assert.ok(inside < 4 * 5000 * 5000, 'the part outside the image is never decoded into raw pixels');
    const offset = layersCost(base, parseParams('blend=b.png&blend-mode=normal&blend-x=1500&blend-y=500').params, { blend });
    assert.ok(offset < inside, 'only a quarter of the image is covered');
    const mark = await readSubImageHeader('mark', await blocks(700, 700, 4).toColourspace('rgb16').png().toBuffer(), 1e8);
    const drawn = layersCost(base, parseParams('mark=m.png&mark-w=1000').params, { mark });
    // A single mark is drawn over the image materialised (steps/overlay.ts drawOver).
    assert.ok(drawn >= 4 * 1000 * 1000 + decodeBytes(mark) + 4 * 2000 * 1000, `${drawn}`);
    const tiled = layersCost(base, parseParams('mark=m.png&mark-w=1000&mark-tile=grid').params, { mark });
    assert.ok(tiled >= 2 * 4 * 1000 * 1000 + decodeBytes(mark), 'a tiled mark is copied into its grid cell');
  });

  it('a per-pixel blend mode, a mask and a second composite each materialise the image', async () => {
    const base = { width: 2000, height: 2000 };
    const blend = await readSubImageHeader('blend', await blocks(100, 100, 4).png().toBuffer(), 1e8);
    const mark = await readSubImageHeader('mark', await blocks(100, 100, 4).png().toBuffer(), 1e8);
    const normal = layersCost(base, parseParams('blend=b.png&blend-mode=normal&mark=m.png').params, { blend, mark });
    const multiply = layersCost(base, parseParams('blend=b.png&blend-mode=multiply&mark=m.png').params, { blend, mark });
    const masked = layersCost(base, parseParams('blend=b.png&blend-mode=multiply&mark=m.png&mask=ellipse').params, { blend, mark });
    // normal: the blend's composite, then the mark's (a second composite: the image is materialised once).
    assert.ok(normal >= 4 * 2000 * 2000, `${normal}`);
    assert.ok(masked - multiply >= 4 * 2000 * 2000 + 2000 * 2000, 'the mask: an SVG surface, its alpha band, the image materialised');
  });

  it('the text layer is bounded by what the text step really draws, clamped and cut where the step is', async () => {
    const queries = [
      'txt=Hello&txt-size=200',
      'txt=%E2%96%88%E2%96%88%E2%96%88%E2%96%88&txt-size=100000&txt-shad=1000',
      'txt=WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW&txt-size=100000&txt-line=100',
      'txt=The%20quick%20brown%20fox&txt-size=5000&txt-fit=max',
      'txt=A%CC%8A%CC%8A%CC%8A%CC%8A%CC%8A%CC%8A%CC%8A%CC%8A&txt-size=3000&txt-clip=middle,ellipsis',
    ];
    const base = { width: 3000, height: 2000 };
    for (const query of queries) {
      const params = parseParams(query).params;
      const extent = (await textExtent(params, base, exec))!;
      const plan = planText(params, base)!;
      const mask = (await layoutText(plan.text, plan.style, plan.box, plan.clip, exec))!;
      assert.ok(extent.width >= mask.width && extent.height >= mask.height, `${query}: bound ${extent.width}×${extent.height}, drawn ${mask.width}×${mask.height}`);
      assert.ok(extent.width <= plan.box.width, `${query}: never wider than its box`);
      assert.ok(extent.width * extent.height < 1.6 * mask.width * mask.height, `${query}: a bound, not a guess: ${extent.width}×${extent.height}`);
    }
    // txt-shad is clamped to 10: its reach does not follow the 1000 asked for.
    const shadow = (await textExtent(parseParams(queries[1]!).params, base, exec))!;
    assert.ok(shadow.margin < 20, `${shadow.margin}`);
  });

  it('reads the layers a render draws, and only those', async () => {
    const png = await blocks(50, 50, 4).png().toBuffer();
    const subImages = { mark: png, blend: png, mask: png };
    const all = await readLayers(parseParams('mark=a.png&blend=b.png&mask=c.png&txt=Hi').params, subImages, { width: 400, height: 300 }, 1e8);
    assert.deepEqual(Object.keys(all).sort(), ['blend', 'mark', 'mask', 'text']);
    const shape = await readLayers(parseParams('mask=ellipse&blend=f00').params, subImages, { width: 400, height: 300 }, 1e8);
    assert.deepEqual(Object.keys(shape), [], 'a shape mask and a colour blend have no image');
  });
});
