import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { blendPixels, SHARP_BLEND } from '../../src/render/blend-modes.ts';
import { hasSubImages, parseParams, subImageRefs } from '../../src/render/params.ts';
import type { BlendMode } from '../../src/render/render-params.ts';
import { near, pixels, renderQuery, solid, type Pixels } from './fixtures.ts';

const WHITE = [255, 255, 255] as const;
const RED = [255, 0, 0] as const;

/** A 40×20 opaque red PNG with an alpha channel: the watermark of most tests. */
const redMark = () => rgbaPng(40, 20, { r: 255, g: 0, b: 0, alpha: 1 });

function rgbaPng(width: number, height: number, background: { r: number; g: number; b: number; alpha: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background } }).png().toBuffer();
}

/** The 400×300 white JPEG base. PNG output keeps the assertions exact (no JPEG ringing at the mark's edges). */
const base = () => solid(400, 300, WHITE, 'jpeg');

async function renderWith(query: string, subImages: { mark?: Buffer; blend?: Buffer }, input?: Buffer): Promise<Pixels> {
  const result = await renderQuery(input ?? (await base()), `fm=png&${query}`, { subImages });
  const image = await pixels(result.body);
  assert.deepEqual([result.width, result.height, image.width, image.height], [400, 300, 400, 300], 'a layer never changes the output size');
  return image;
}

/** Asserts that exactly the box [x0, x1) × [y0, y1) is red: its corners inside, and the pixels just outside. */
function assertBox(image: Pixels, x0: number, y0: number, x1: number, y1: number, color: readonly number[] = RED): void {
  for (const [x, y] of [[x0, y0], [x1 - 1, y0], [x0, y1 - 1], [x1 - 1, y1 - 1]] as const) {
    assert.ok(near(image.at(x, y), color, 2), `inside (${x},${y}): ${image.at(x, y)}`);
  }
  const outside = [[x0 - 1, y0], [x1, y1 - 1], [x0, y0 - 1], [x1 - 1, y1]].filter(([x, y]) => x! >= 0 && y! >= 0 && x! < image.width && y! < image.height);
  for (const [x, y] of outside) assert.ok(near(image.at(x!, y!), WHITE, 2), `outside (${x},${y}): ${image.at(x!, y!)}`);
}

describe('render: mark', () => {
  it('lands bottom-right with 5 px padding by default', async () => {
    assertBox(await renderWith('mark=logo.png', { mark: await redMark() }), 355, 275, 395, 295);
  });

  it('mark-align=top,left (keywords in any order)', async () => {
    assertBox(await renderWith('mark=logo.png&mark-align=top,left', { mark: await redMark() }), 5, 5, 45, 25);
    assertBox(await renderWith('mark=logo.png&mark-align=left,middle&mark-pad=0', { mark: await redMark() }), 0, 140, 40, 160);
  });

  it('mark-x / mark-y are pixels from the top-left and override the alignment', async () => {
    assertBox(await renderWith('mark=logo.png&mark-x=100&mark-y=50&mark-align=bottom,right', { mark: await redMark() }), 100, 50, 140, 70);
    // Only x given: the vertical axis keeps the default alignment and padding.
    assertBox(await renderWith('mark=logo.png&mark-x=10', { mark: await redMark() }), 10, 275, 50, 295);
  });

  it('mark-w=0.5 is half the base width (the height follows the aspect ratio)', async () => {
    assertBox(await renderWith('mark=logo.png&mark-w=0.5', { mark: await redMark() }), 195, 195, 395, 295);
  });

  it('mark-w/mark-h in pixels with mark-fit=scale and fill', async () => {
    assertBox(await renderWith('mark=logo.png&mark-w=60&mark-h=60&mark-fit=scale', { mark: await redMark() }), 335, 235, 395, 295);
    // fill: letterboxed inside 60×60 with transparent bands, so only a 60×30 red band shows.
    assertBox(await renderWith('mark=logo.png&mark-w=60&mark-h=60&mark-fit=fill', { mark: await redMark() }), 335, 250, 395, 280);
  });

  it('mark-scale=25 is a quarter of the base width', async () => {
    assertBox(await renderWith('mark=logo.png&mark-scale=25', { mark: await redMark() }), 295, 245, 395, 295);
  });

  it('mark-alpha=50 mixes the mark halfway', async () => {
    const image = await renderWith('mark=logo.png&mark-alpha=50', { mark: await redMark() });
    assert.ok(near(image.at(375, 285), [255, 128, 128], 2), `${image.at(375, 285)}`);
    assert.deepEqual(image.at(300, 150), [...WHITE]);
  });

  it('mark-tile=grid repeats the mark from the top-left, mark-pad apart', async () => {
    const image = await renderWith('mark=logo.png&mark-tile=grid', { mark: await redMark() });
    // Cells are 45×25 (mark + 5 px gap) and one copy sits at (5,5), where a top-left mark would be.
    for (const [x, y] of [[5, 5], [50, 5], [5, 30], [95, 55], [365, 280], [399, 299]]) {
      assert.ok(near(image.at(x!, y!), RED, 2), `copy at (${x},${y}): ${image.at(x!, y!)}`);
    }
    for (const [x, y] of [[47, 10], [10, 27], [48, 28], [2, 2]]) {
      assert.ok(near(image.at(x!, y!), WHITE, 2), `gap at (${x},${y}): ${image.at(x!, y!)}`);
    }
  });

  it('mark-rot rotates the mark (90°: 20×40 in the corner)', async () => {
    assertBox(await renderWith('mark=logo.png&mark-rot=90', { mark: await redMark() }), 375, 255, 395, 295);
  });

  it('a mark larger than the base is shrunk to fit inside it, without throwing', async () => {
    const mark = await rgbaPng(1000, 100, { r: 255, g: 0, b: 0, alpha: 1 });
    // 1000×100 → 400×40, kept inside the base: x = 0, y = 300 − 40 − 5.
    assertBox(await renderWith('mark=big.png', { mark }), 0, 255, 400, 295);
    // Rotated, the bounding box of the square is what must fit: ~300×300, so the corner stays clear.
    const square = await rgbaPng(900, 900, { r: 255, g: 0, b: 0, alpha: 1 });
    const rotated = await renderWith('mark=big.png&mark-w=2000&mark-h=2000&mark-fit=scale&mark-rot=30', { mark: square });
    assert.deepEqual(rotated.at(245, 150), [...RED]);
    assert.deepEqual(rotated.at(5, 150), [...WHITE]);
    assert.deepEqual(rotated.at(395, 5), [...WHITE], 'a transparent corner of the rotated mark');
  });

  it('mark-if-min-width skips small bases; a missing buffer skips the layer', async () => {
    const image = await renderWith('mark=logo.png&mark-if-min-width=500', { mark: await redMark() });
    assert.deepEqual(image.at(375, 285), [...WHITE]);
    assert.deepEqual((await renderWith('mark=logo.png', {})).at(375, 285), [...WHITE]);
  });

  it('an undecodable mark fails with UNSUPPORTED_IMAGE pointing at mark', async () => {
    await assert.rejects(renderWith('mark=logo.png', { mark: Buffer.from('<html>not an image</html>') }), (error: unknown) => {
      assert.ok(isPictorError(error));
      assert.equal(error.code, 'UNSUPPORTED_IMAGE');
      assert.equal(error.pointer, 'mark');
      return true;
    });
  });

  it('keeps the base alpha: a mark over a transparent PNG stays opaque, the rest stays transparent', async () => {
    const transparent = await rgbaPng(400, 300, { r: 0, g: 0, b: 0, alpha: 0 });
    const result = await renderQuery(transparent, 'mark=logo.png', { subImages: { mark: await redMark() } });
    const image = await pixels(result.body);
    assert.equal(image.channels, 4);
    assert.deepEqual(image.at(375, 285), [255, 0, 0, 255]);
    assert.equal(image.at(10, 10)[3], 0);
  });

  it('works on a JPEG output, after a resize and padding (placement is relative to the padded result)', async () => {
    const result = await renderQuery(await solid(800, 600, WHITE, 'jpeg'), 'w=400&pad=10&bg=fff&mark=logo.png', { subImages: { mark: await redMark() } });
    assert.equal(result.format, 'jpg');
    assert.deepEqual([result.width, result.height], [400, 305]);
    const image = await pixels(result.body);
    assert.ok(near(image.at(375, 285), RED, 24), `${image.at(375, 285)}`);
    assert.ok(near(image.at(200, 150), WHITE, 4), `${image.at(200, 150)}`);
  });
});

describe('render: blend', () => {
  const BASE = [200, 100, 50] as const;
  const baseColor = () => solid(400, 300, BASE, 'png');
  const at = async (query: string, subImages: { blend?: Buffer } = {}) => (await renderWith(query, subImages, await baseColor())).at(200, 150);

  it('a colour with blend-mode=multiply and screen gives the W3C channel values', async () => {
    // ff8040 = (255, 128, 64): multiply → b·s; screen → b + s − b·s.
    assert.ok(near(await at('blend=ff8040&blend-mode=multiply'), [200, 50, 13], 1));
    assert.ok(near(await at('blend=ff8040&blend-mode=screen'), [255, 178, 101], 1));
    assert.ok(near(await at('blend-color=ff8040&blend-mode=darken'), [200, 100, 50], 1));
  });

  it('blend-alpha applies the W3C formula (not libvips’ premultiplied one)', async () => {
    // (1 − α)·Cb + α·Cb·Cs with α = 0.5: 200 → 200, 100 → 75, 50 → 31.
    assert.ok(near(await at('blend=ff8040&blend-mode=multiply&blend-alpha=50'), [200, 75, 31], 1), `${await at('blend=ff8040&blend-mode=multiply&blend-alpha=50')}`);
    // The ARGB alpha of the colour counts the same way.
    assert.deepEqual(await at('blend=80ff8040&blend-mode=multiply'), await at('blend=ff8040&blend-mode=multiply&blend-alpha=50'));
  });

  it('the default mode is overlay', async () => {
    assert.deepEqual(await at('blend=ff8040'), await at('blend=ff8040&blend-mode=overlay'));
    assert.notDeepEqual(await at('blend=ff8040'), await at('blend=ff8040&blend-mode=normal'));
  });

  it('non-separable modes follow the W3C formulas', async () => {
    const grey = () => solid(400, 300, [128, 128, 128], 'png');
    const on = async (input: Buffer, query: string) => (await renderWith(query, {}, input)).at(10, 10);
    // color: the hue and saturation of red with the luminosity of grey.
    assert.ok(near(await on(await grey(), 'blend=ff0000&blend-mode=color'), [255, 74, 74], 1), `${await on(await grey(), 'blend=ff0000&blend-mode=color')}`);
    // saturation of grey (0) on red: a grey with red's luminosity (0.3).
    assert.ok(near(await on(await solid(400, 300, RED, 'png'), 'blend=808080&blend-mode=saturation'), [77, 77, 77], 1));
    // luminosity of white on red: as light as possible while keeping the hue.
    assert.ok(near(await on(await solid(400, 300, RED, 'png'), 'blend=fff&blend-mode=luminosity'), [255, 255, 255], 1));
    // hue of blue on the base colour: bluish, with the base's luminosity.
    const [r, g, b] = await at('blend=0000ff&blend-mode=hue');
    assert.ok(b! > r! && b! > g!, `${r},${g},${b}`);
  });

  it('an image blend is centred by default and honours blend-alpha', async () => {
    const blend = await rgbaPng(100, 50, { r: 255, g: 0, b: 0, alpha: 1 });
    const image = await renderWith('blend=red.png&blend-mode=normal&blend-alpha=50', { blend });
    assert.ok(near(image.at(150, 125), [255, 128, 128], 2), `${image.at(150, 125)}`);
    assert.ok(near(image.at(249, 174), [255, 128, 128], 2));
    assert.deepEqual(image.at(149, 150), [...WHITE]);
    assert.deepEqual(image.at(250, 150), [...WHITE]);
  });

  it('blend-align, blend-pad and blend-x/blend-y place the image', async () => {
    const blend = await rgbaPng(100, 50, { r: 255, g: 0, b: 0, alpha: 1 });
    assertBox(await renderWith('blend=red.png&blend-mode=normal&blend-align=top,left&blend-pad=10', { blend }), 10, 10, 110, 60);
    assertBox(await renderWith('blend=red.png&blend-mode=normal&blend-x=20&blend-y=30', { blend }), 20, 30, 120, 80);
    // blend-w as a fraction of the base with blend-fit=scale.
    assertBox(await renderWith('blend=red.png&blend-mode=normal&blend-w=0.5&blend-h=0.5&blend-fit=scale', { blend }), 100, 75, 300, 225);
  });

  it('blend-size=inherit stretches/crops the image to the whole base', async () => {
    const blend = await rgbaPng(40, 20, { r: 255, g: 0, b: 0, alpha: 1 });
    const image = await renderWith('blend=red.png&blend-size=inherit&blend-mode=multiply', { blend });
    for (const [x, y] of [[0, 0], [399, 299], [200, 150], [0, 299]]) assert.deepEqual(image.at(x!, y!), [...RED]);
  });

  it('a blend larger than the base is clipped, not an error', async () => {
    const blend = await rgbaPng(1000, 800, { r: 0, g: 0, b: 255, alpha: 1 });
    const image = await renderWith('blend=big.png&blend-mode=normal', { blend });
    assert.deepEqual(image.at(0, 0), [0, 0, 255]);
    assert.deepEqual(image.at(399, 299), [0, 0, 255]);
  });
});

describe('blendPixels agrees with libvips where libvips is exact (opaque layers)', () => {
  const modes = Object.keys(SHARP_BLEND) as BlendMode[];
  it(`for ${modes.join(', ')}`, async () => {
    const size = 16;
    const base = Buffer.alloc(size * size * 3);
    const over = Buffer.alloc(size * size * 4);
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) {
        base[i * 3 + c] = (i * 37 + c * 91) % 256;
        over[i * 4 + c] = (i * 53 + c * 29 + 7) % 256;
      }
      over[i * 4 + 3] = 255;
    }
    for (const mode of modes) {
      const expected = await sharp(base, { raw: { width: size, height: size, channels: 3 } })
        .composite([{ input: over, raw: { width: size, height: size, channels: 4 }, blend: SHARP_BLEND[mode]! }])
        .removeAlpha()
        .raw()
        .toBuffer();
      const actual = Buffer.from(base);
      blendPixels(actual, size, size, 3, { kind: 'image', image: { data: over, width: size, height: size }, left: 0, top: 0 }, mode);
      let worst = 0;
      for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
      assert.ok(worst <= 2, `${mode}: differs by up to ${worst}`);
    }
  });
});

describe('parseParams: mark and blend', () => {
  const logo = 'https://assets.imgix.net/logo.png';
  const logo64 = Buffer.from(logo).toString('base64url');

  it('keeps the references verbatim; mark64 and mark give the same canonical string', () => {
    const plain = parseParams(`mark=${encodeURIComponent(logo)}`);
    const encoded = parseParams(`mark64=${logo64}`);
    assert.equal(plain.params.mark, logo);
    assert.equal(encoded.canonical, plain.canonical);
    assert.equal(encoded.canonical, 'mark=https://assets.imgix.net/logo.png');
    assert.equal(parseParams(`blend64=${logo64}`).params.blend, logo);
  });

  it('different marks and mark parameters are different cache keys', () => {
    const keys = ['mark=a.png', 'mark=b.png', 'mark=a.png&mark-alpha=50', 'mark=a.png&mark-align=top,left', 'mark=a.png&mark-tile=grid', 'blend=a.png', 'blend=a.png&blend-mode=multiply']
      .map((query) => parseParams(query).canonical);
    assert.equal(new Set(keys).size, keys.length, keys.join(' | '));
  });

  it('drops defaults and parameters without their layer, and folds equivalent spellings', () => {
    assert.equal(parseParams('mark=a.png&mark-pad=5&mark-alpha=100&mark-align=right,bottom&mark-fit=clip&mark-rot=360').canonical, 'mark=a.png');
    assert.equal(parseParams('m=a.png&ma=left,top').canonical, parseParams('mark=a.png&mark-align=top,left').canonical);
    assert.equal(parseParams('w=10&mark-alpha=50&blend-mode=multiply&mark-base=https://x/').canonical, 'w=10');
    assert.equal(parseParams('mark=a.png&mark-tile=grid&mark-align=top,left').canonical, 'mark=a.png&mark-tile=grid');
    assert.equal(parseParams('blend=ff0000&blend-mode=overlay').canonical, parseParams('blend-color=red').canonical);
    assert.equal(parseParams('blend=ff0000&blend-alpha=0').canonical, '', 'an invisible blend changes nothing');
  });

  it('canonical strings with references parse back to themselves', () => {
    for (const query of [`mark64=${Buffer.from('https://a.example/w m.png?w=160&txt=a+b%').toString('base64url')}&mark-x=3`, 'blend=x/y.png&blend-size=inherit&blend-crop=faces,bottom']) {
      const { canonical, params } = parseParams(query);
      assert.equal(parseParams(canonical).canonical, canonical, query);
      assert.deepEqual(parseParams(canonical).params, params);
    }
  });

  it('exposes a blend colour separately from an image blend', () => {
    assert.deepEqual(parseParams('blend=80ff0000').params['blend-color'], { r: 255, g: 0, b: 0, a: 128 });
    assert.equal(parseParams('blend=80ff0000').params.blend, undefined);
    assert.equal(parseParams('blend=overlay.png').params.blend, 'overlay.png');
  });
});

describe('subImageRefs / hasSubImages', () => {
  it('returns the references to fetch', () => {
    assert.deepEqual(subImageRefs(parseParams('mark=logo.png&blend=tex.jpg').params), { mark: 'logo.png', blend: 'tex.jpg' });
    assert.deepEqual(subImageRefs(parseParams('blend=f00&w=10').params), {});
    assert.deepEqual(subImageRefs(parseParams('w=10').params), {});
  });

  it('joins mark-base and mark', () => {
    const ref = (query: string) => subImageRefs(parseParams(query).params).mark;
    assert.equal(ref('mark-base=https://assets.imgix.net/watermarks/&mark=logo.png'), 'https://assets.imgix.net/watermarks/logo.png');
    assert.equal(ref('mark-base=https://assets.imgix.net/watermarks&mark=/logo.png'), 'https://assets.imgix.net/watermarks/logo.png');
    assert.equal(ref('mark-base=https://a.example/w&mark=logo.png'), 'https://a.example/w/logo.png');
  });

  it('hasSubImages is true for a mark or an image blend only', () => {
    assert.equal(hasSubImages(parseParams('mark=logo.png').params), true);
    assert.equal(hasSubImages(parseParams('blend=tex.jpg').params), true);
    assert.equal(hasSubImages(parseParams('blend=ff0000').params), false);
    assert.equal(hasSubImages(parseParams('w=100&bri=10').params), false);
  });
});
