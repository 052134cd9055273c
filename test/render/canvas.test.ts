import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { estimateRenderCost } from '../../src/render/cost.ts';
import { mixColors } from '../../src/render/color-mix.ts';
import { IsolatedRenderer } from '../../src/render/isolated-renderer.ts';
import { parseParams } from '../../src/render/params.ts';
import { alphaPng, BLUE, GREEN, near, pixels, RED, renderQuery, solid } from './fixtures.ts';

const WHITE = [255, 255, 255] as const;
const GRID_GREY = [0xd0, 0xd7, 0xdd] as const;
const blue = () => solid(400, 300, BLUE, 'png');
const render = async (query: string, input?: Buffer, options = {}) => {
  const result = await renderQuery(input ?? (await blue()), query, options);
  return { result, image: await pixels(result.body) };
};

describe('canvas: pad inside the requested size', () => {
  it('fit=crop: the output is exactly w×h, the image shrunk to leave room for the padding', async () => {
    const { image } = await render('w=200&h=200&fit=crop&pad=10&bg=f00');
    assert.deepEqual([image.width, image.height], [200, 200]);
    assert.ok(near(image.at(5, 100), RED) && near(image.at(194, 5), RED), 'padding');
    assert.ok(near(image.at(11, 11), BLUE) && near(image.at(188, 188), BLUE), 'image fills the rest');
  });

  it('fit=clip: image and padding together fit inside the box; fit=fill keeps the box', async () => {
    assert.deepEqual([(await render('w=200&h=200&pad=10')).image.width, (await render('w=200&h=200&pad=10')).image.height], [200, 155]);
    const filled = await render('w=200&h=200&fit=fill&pad-left=20&fill-color=0f0');
    assert.deepEqual([filled.image.width, filled.image.height], [200, 200]);
    assert.equal(filled.image.at(10, 100)[3], 0, 'transparent padding on PNG');
    assert.ok(near(filled.image.at(110, 5), GREEN), 'fill colour in the letterbox');
  });

  it('one side: that side includes the padding; without w or h, padding adds to the size', async () => {
    const one = await render('w=220&pad=10');
    assert.deepEqual([one.image.width, one.image.height], [220, 170]);
    const none = await render('pad=10');
    assert.deepEqual([none.image.width, none.image.height], [420, 320]);
  });
});

describe('canvas: border', () => {
  it('keeps the requested outer size, border colour at the edge, image inside', async () => {
    const { image } = await render('w=200&h=200&fit=crop&border=10,ff0000');
    assert.deepEqual([image.width, image.height], [200, 200]);
    assert.equal(image.channels, 3, 'an opaque image stays opaque');
    for (const [x, y] of [[0, 0], [5, 100], [199, 199], [100, 195]] as const) assert.ok(near(image.at(x, y), RED), `${x},${y}: ${image.at(x, y)}`);
    assert.ok(near(image.at(11, 11), BLUE) && near(image.at(100, 100), BLUE));
  });

  it('lies outside the padding; per-side widths override; without w/h it adds to the size', async () => {
    const { image } = await render('pad=5&bg=0f0&border=10,f00&border-top=0&border-left=20');
    assert.deepEqual([image.width, image.height], [400 + 10 + 20 + 10, 300 + 10 + 10]);
    assert.ok(near(image.at(100, 2), GREEN), `no top border: padding at the top ${image.at(100, 2)}`);
    assert.ok(near(image.at(10, 150), RED) && near(image.at(22, 150), GREEN) && near(image.at(30, 150), BLUE));
  });

  it('border-radius makes the outer corners transparent (PNG) or bg (JPEG)', async () => {
    const png = (await render('border=10,f00&border-radius=40')).image;
    assert.equal(png.at(0, 0)[3], 0, 'corner');
    assert.ok(near(png.at(2, 150), [...RED, 255]), 'straight edge');
    assert.ok(near(png.at(200, 150), [...BLUE, 255]));
    const jpg = (await render('border=10,f00&border-radius=40&fm=jpg&bg=0f0')).image;
    assert.equal(jpg.channels, 3);
    assert.ok(near(jpg.at(0, 0), GREEN, 30), `${jpg.at(0, 0)}`);
    assert.ok(near(jpg.at(5, 150), RED, 30) && near(jpg.at(200, 150), BLUE, 30));
    const square = (await render('border=10,f00&border-radius=40,0,0,0')).image;
    assert.equal(square.at(0, 0)[3], 0);
    assert.ok(near(square.at(419, 0), [...RED, 255]) && near(square.at(0, 319), [...RED, 255]), 'only the top-left corner is round');
  });

  it('border-radius-inner rounds the picture inside the border with the border colour', async () => {
    const square = (await render('border=10,f00')).image;
    assert.ok(near(square.at(11, 11), BLUE));
    const inner = (await render('border=10,f00&border-radius-inner=30')).image;
    for (const [x, y] of [[11, 11], [408, 11], [408, 308], [11, 308]] as const) assert.ok(near(inner.at(x, y), RED), `${x},${y}: ${inner.at(x, y)}`);
    for (const [x, y] of [[40, 40], [379, 40], [379, 279], [40, 279], [200, 11]] as const) assert.ok(near(inner.at(x, y), BLUE), `${x},${y}: ${inner.at(x, y)}`);
  });

  it('border-stroke-size draws a line along the outer edge', async () => {
    const { image } = await render('border-stroke-size=4&border-stroke-color=0f0');
    assert.deepEqual([image.width, image.height], [400, 300]);
    assert.ok(near(image.at(1, 150), GREEN) && near(image.at(200, 298), GREEN));
    assert.ok(near(image.at(6, 150), BLUE));
  });
});

describe('canvas: masks', () => {
  it('mask=ellipse: corners transparent, centre opaque, edges follow the ellipse', async () => {
    const { image } = await render('mask=ellipse');
    assert.deepEqual([image.width, image.height, image.channels], [400, 300, 4]);
    assert.equal(image.at(0, 0)[3], 0);
    assert.equal(image.at(40, 30)[3], 0, 'outside the ellipse near the corner');
    assert.deepEqual(image.at(200, 150), [...BLUE, 255]);
    assert.equal(image.at(3, 150)[3], 255, 'left end of the horizontal axis');
    assert.equal(image.at(200, 2)[3], 255, 'top end of the vertical axis');
  });

  it('mask=corners: 20 % of the smaller side by default, or corner-radius (1 or 4 values)', async () => {
    const defaulted = (await render('mask=corners')).image;
    assert.equal(defaulted.at(12, 12)[3], 0, 'radius 60: (12, 12) is outside');
    assert.equal(defaulted.at(30, 30)[3], 255);
    assert.equal(defaulted.at(200, 1)[3], 255);
    const small = (await render('mask=corners&corner-radius=10')).image;
    assert.equal(small.at(12, 12)[3], 255);
    assert.equal(small.at(0, 0)[3], 0);
    const topRight = (await render('mask=corners&corner-radius=0,50,0,0')).image;
    assert.equal(topRight.at(0, 0)[3], 255);
    assert.equal(topRight.at(399, 0)[3], 0);
    assert.equal(topRight.at(399, 299)[3], 255);
  });

  it('mask-bg fills the masked-out area; JPEG flattens it onto white by default', async () => {
    assert.deepEqual((await render('mask=ellipse&mask-bg=f00')).image.at(0, 0), [...RED]);
    const jpg = (await render('mask=ellipse&fm=jpg')).image;
    assert.ok(near(jpg.at(0, 0), WHITE) && near(jpg.at(200, 150), BLUE));
  });

  it('works on greyscale inputs and combined with the later canvas steps', async () => {
    const grey = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#888' } }).toColourspace('b-w').jpeg().toBuffer();
    const bg = (await render('mask=ellipse&fm=png&mask-bg=f00', grey)).image;
    assert.deepEqual([bg.at(0, 0), bg.at(20, 15)], [[...RED], [136, 136, 136]]);
    const combined = (await render('mask=ellipse&border=3,f00&border-radius-inner=5&transparency=grid&grid-colors=0f0,0f0&fm=png', grey)).image;
    assert.deepEqual([combined.width, combined.height, combined.channels], [46, 36, 3]);
    assert.deepEqual([combined.at(1, 18), combined.at(3, 3), combined.at(6, 6), combined.at(23, 18)], [[...RED], [...RED], [...GREEN], [136, 136, 136]]);
  });

  it('the mask applies to the image, before padding and border', async () => {
    const { image } = await render('mask=ellipse&pad=10&bg=0f0&border=5,f00');
    assert.deepEqual([image.width, image.height], [430, 330]);
    assert.ok(near(image.at(2, 2), RED) && near(image.at(8, 8), GREEN));
    assert.ok(near(image.at(16, 16), GREEN), 'the masked image corner shows bg');
    assert.ok(near(image.at(215, 165), BLUE));
  });

  it('an image mask keeps pixels by luminance × alpha, stretched to the image', async () => {
    // 40×10: left half white, right half black, bottom-left quarter transparent white.
    const mask = await sharp({ create: { width: 40, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } })
      .composite([
        { input: { create: { width: 20, height: 5, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } } }, left: 0, top: 0 },
        { input: { create: { width: 20, height: 5, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }, left: 0, top: 5 },
      ])
      .png()
      .toBuffer();
    const { image } = await render('mask=shapes/half.png', undefined, { subImages: { mask } });
    assert.deepEqual([image.width, image.height], [400, 300]);
    assert.equal(image.at(100, 70)[3], 255, 'white: kept');
    assert.equal(image.at(300, 70)[3], 0, 'black: hidden');
    assert.equal(image.at(100, 230)[3], 0, 'transparent: hidden');
    const none = await render('mask=shapes/half.png');
    assert.deepEqual(none.image.at(300, 70), [...BLUE], 'no fetched mask: drawn without it');
  });

  it('an image mask reaches the separate render process of heavy renders', async () => {
    const renderer = new IsolatedRenderer({ threads: 1, idleMs: 60_000 });
    after(() => renderer.close());
    const mask = await sharp({ create: { width: 2, height: 1, channels: 3, background: '#fff' } })
      .composite([{ input: { create: { width: 1, height: 1, channels: 3, background: '#000' } }, left: 1, top: 0 }])
      .png()
      .toBuffer();
    const result = await renderer.render(await blue(), parseParams('mask=m.png&fm=png').params, { acceptClass: '', maxInputPixels: 1_000_000, timeoutSeconds: 30, subImages: { mask } });
    const image = await pixels(result.body);
    assert.equal(image.at(50, 150)[3], 255);
    assert.equal(image.at(350, 150)[3], 0);
  });

  it('an undecodable mask image is a clear 4xx naming the mask', async () => {
    await assert.rejects(renderQuery(await blue(), 'mask=bad.png', { subImages: { mask: Buffer.from('not an image') } }), (error) => {
      assert.ok(isPictorError(error) && error.pointer === 'mask' && /mask image could not be decoded/.test(error.message), String(error));
      return true;
    });
  });
});

describe('canvas: fill=gradient', () => {
  // A wide image in a square box leaves bars at the top and bottom.
  const wide = () => solid(400, 100, BLUE, 'png');

  it('linear, towards the bottom by default: first colour at the top, second at the bottom', async () => {
    const { image } = await render('w=300&h=300&fit=fill&fill=gradient&fill-gradient-linear=f00,0f0', await wide());
    assert.deepEqual([image.width, image.height], [300, 300]);
    assert.ok(near(image.at(150, 0), RED, 6), `${image.at(150, 0)}`);
    assert.ok(near(image.at(150, 299), GREEN, 6), `${image.at(150, 299)}`);
    assert.ok(near(image.at(150, 150), BLUE));
  });

  it('direction right runs across; cs changes the midpoint (srgb vs oklab)', async () => {
    const query = 'w=300&h=300&fit=fill&fill=gradient&fill-gradient-linear=f00,0f0&fill-gradient-linear-direction=right';
    const srgb = (await render(query, await wide())).image;
    assert.ok(near(srgb.at(0, 10), RED, 6) && near(srgb.at(299, 10), GREEN, 6));
    assert.ok(near(srgb.at(150, 10), [128, 127, 0], 4), `${srgb.at(150, 10)}`);
    const oklab = (await render(`${query}&fill-gradient-cs=oklab`, await wide())).image;
    const expected = mixColors({ r: 255, g: 0, b: 0, a: 255 }, { r: 0, g: 255, b: 0, a: 255 }, 150 / 299, 'oklab');
    assert.ok(near(oklab.at(150, 10), [expected.r, expected.g, expected.b], 6), `${oklab.at(150, 10)} vs ${JSON.stringify(expected)}`);
    assert.ok(oklab.at(150, 10)[0]! > srgb.at(150, 10)[0]! + 40, 'oklab keeps the midpoint brighter');
  });

  it('radial: first colour inside radius 1, second beyond radius 2', async () => {
    const query = 'w=300&h=300&fit=fill&fill=gradient&fill-gradient-type=radial&fill-gradient-radial=f00,0f0&fill-gradient-radial-radius=20,100&fill-gradient-radial-y=0.1';
    const { image } = await render(query, await wide());
    assert.ok(near(image.at(150, 30), RED, 6), `centre ${image.at(150, 30)}`);
    assert.ok(near(image.at(0, 299), GREEN, 6) && near(image.at(299, 0), GREEN, 6), 'corners');
  });

  it('without colours: a dark and a light shade of the image', async () => {
    const { image } = await render('w=300&h=300&fit=fill&fill=gradient', await wide());
    const top = image.at(150, 0);
    const bottom = image.at(150, 299);
    assert.ok(top[2]! > top[0]! + 60 && top[2]! < 160, `dark blue ${top}`);
    assert.ok(bottom[2]! > 230 && bottom[0]! > 120, `light blue ${bottom}`);
  });

  it('only with fit=fill/fillmax: elsewhere the gradient parameters change nothing', () => {
    assert.equal(parseParams('fill=gradient&fill-gradient-linear=f00,0f0&w=300').canonical, 'w=300');
    assert.equal(
      parseParams('w=300&h=300&fit=fill&fill=gradient&fill-gradient-cs=srgb&fill-gradient-linear-direction=bottom&fill-gradient-radial=f00,0f0').canonical,
      'fill=gradient&fit=fill&h=300&w=300',
    );
  });
});

describe('canvas: transparency=grid', () => {
  it('lays a checkerboard of grid-size squares behind transparent pixels; the output is opaque', async () => {
    const { image } = await render('transparency=grid&grid-size=10', await alphaPng());
    assert.equal(image.channels, 3);
    assert.deepEqual(image.at(0, 0), [...GRID_GREY]);
    assert.deepEqual(image.at(10, 0), [...WHITE]);
    assert.deepEqual(image.at(0, 10), [...WHITE]);
    assert.deepEqual(image.at(15, 15), [...GRID_GREY]);
    assert.deepEqual(image.at(150, 100), [...RED], 'opaque pixels are untouched');
  });

  it('grid-colors, the default 4 px squares, and opaque images left alone', async () => {
    const coloured = (await render('transparency=grid&grid-colors=f00,00f', await alphaPng())).image;
    assert.deepEqual([coloured.at(1, 1), coloured.at(5, 1), coloured.at(5, 5)], [[...RED], [...BLUE], [...RED]]);
    const opaque = (await render('transparency=grid')).image;
    assert.deepEqual(opaque.at(0, 0), [...BLUE]);
  });
});

describe('canvas: normalisation and hostile values', () => {
  it('folds equivalent spellings and drops parameters whose dependencies are missing', () => {
    assert.equal(parseParams('mask=corners&corner-radius=10,10,10,10').canonical, 'corner-radius=10&mask=corners');
    assert.equal(parseParams('mask=ellipse&corner-radius=10&mask-bg=0fff').canonical, 'mask=ellipse');
    assert.equal(parseParams('border-radius=10&border-top=4').canonical, '');
    assert.equal(parseParams('transparency=grid&grid-size=4&grid-colors=d0d7dd,fff').canonical, 'transparency=grid');
    assert.equal(parseParams('border-stroke-size=4').canonical, '', 'the default stroke colour is transparent');
    const round = parseParams('border=10,f00&border-radius=1,2,3,4').canonical;
    assert.equal(parseParams(round).canonical, round, 'the canonical form parses back to itself');
  });

  it('rejects malformed values with 400-class errors naming the parameter', () => {
    for (const [query, name] of [['border=10', 'border'], ['corner-radius=-1', 'corner-radius'], ['grid-size=-3', 'grid-size'], ['fill-gradient-radial-radius=1,2,3', 'fill-gradient-radial-radius']] as const) {
      assert.throws(() => parseParams(query), (error) => isPictorError(error) && error.code === 'INVALID_PARAMETER' && error.pointer === name, query);
    }
  });

  it('absurd sizes give bounded, valid outputs', async () => {
    for (const query of [
      'w=2&h=2&fit=crop&border=100,f00&pad=500',
      'mask=corners&corner-radius=99999999',
      'border=100,f00&border-radius=99999999&border-radius-inner=99999999&border-stroke-size=999&border-stroke-color=0f0',
      'transparency=grid&grid-size=99999999&mask=ellipse',
      'w=8192&h=8192&fit=fill&fill=gradient&fill-gradient-type=radial&fill-gradient-radial-radius=8192,2&w=2&h=2',
    ]) {
      const { result } = await render(query, await solid(40, 30, BLUE, 'png'));
      assert.ok(result.width! >= 1 && result.width! <= 8192 && result.height! <= 8192, `${query}: ${result.width}×${result.height}`);
    }
  });

  it('charges the whole-image layers in the memory estimate', () => {
    const input = { format: 'png', width: 2000, height: 2000, progressive: false, frames: 1 };
    const output = { format: 'png' as const, width: 2000, height: 2000 };
    const plain = estimateRenderCost(input, output, {}).bytes;
    const masked = estimateRenderCost(input, output, parseParams('mask=ellipse&border=4,f00&border-radius=20').params).bytes;
    assert.ok(masked >= plain + 3 * 4 * 2000 * 2000, `${plain} → ${masked}`);
  });
});
