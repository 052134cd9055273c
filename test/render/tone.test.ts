import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { estimateRenderCost } from '../../src/render/cost.ts';
import { isPictorError } from '../../src/errors.ts';
import { parseParams } from '../../src/render/params.ts';
import { rawGet, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { alphaPng, gradientJpeg, near, pixels, renderQuery } from './fixtures.ts';

/** A PNG from a function of (x, y) → [r, g, b]. */
function paint(width: number, height: number, color: (x: number, y: number) => readonly number[]): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(color(x, y).map((v) => Math.max(0, Math.min(255, Math.round(v)))), (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** 256×16, column x has grey level x. */
const greyRamp = () => paint(256, 16, (x) => [x, x, x]);

/** CIELAB lightness and hue angle (degrees) of an sRGB colour, D65. */
function lch([r, g, b]: readonly number[]): { l: number; h: number } {
  const lin = [r!, g!, b!].map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
  const xyz = [
    (0.4124 * lin[0]! + 0.3576 * lin[1]! + 0.1805 * lin[2]!) / 0.95047,
    0.2126 * lin[0]! + 0.7152 * lin[1]! + 0.0722 * lin[2]!,
    (0.0193 * lin[0]! + 0.1192 * lin[1]! + 0.9505 * lin[2]!) / 1.08883,
  ].map((t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116));
  const h = (Math.atan2(200 * (xyz[1]! - xyz[2]!), 500 * (xyz[0]! - xyz[1]!)) * 180) / Math.PI;
  return { l: 116 * xyz[1]! - 16, h: (h + 360) % 360 };
}

function hueShift(a: readonly number[], b: readonly number[]): number {
  const d = Math.abs(lch(a).h - lch(b).h) % 360;
  return Math.min(d, 360 - d);
}

async function rendered(input: Buffer, query: string) {
  return pixels((await renderQuery(input, query)).body);
}

/** Distinct colours of an encoded image (RGB, plus alpha when present). */
async function colorCount(encoded: Buffer): Promise<number> {
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  const seen = new Set<string>();
  for (let i = 0; i < data.length; i += info.channels) seen.add(data.subarray(i, i + info.channels).join(','));
  return seen.size;
}

function variance(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
}

function rejectsWith(code: string, pointer?: string) {
  return (error: unknown) => {
    assert.ok(isPictorError(error), `a PictorError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pointer) assert.equal(error.pointer, pointer);
    return true;
  };
}

describe('tone: duotone', () => {
  it('maps black to the first colour and white to the second', async () => {
    const input = await paint(100, 20, (x) => (x < 50 ? [0, 0, 0] : [255, 255, 255]));
    const image = await rendered(input, 'duotone=ff0000,0000ff&fm=png');
    assert.deepEqual(image.at(10, 10), [255, 0, 0]);
    assert.deepEqual(image.at(90, 10), [0, 0, 255]);
  });

  it('mid-grey lands between the colours, and duotone-alpha mixes with the original', async () => {
    const grey = await paint(20, 20, () => [128, 128, 128]);
    assert.ok(near((await rendered(grey, 'duotone=000000,ffffff&fm=png')).at(5, 5), [128, 128, 128], 2));
    const black = await paint(20, 20, () => [0, 0, 0]);
    assert.ok(near((await rendered(black, 'duotone=ff0000,0000ff&duotone-alpha=50&fm=png')).at(5, 5), [128, 0, 0], 2));
  });
});

describe('tone: usm', () => {
  const edge = () => paint(100, 20, (x) => (x < 50 ? [100, 100, 100] : [160, 160, 160]));

  it('raises local contrast at an edge and leaves flat areas alone', async () => {
    const image = await rendered(await edge(), 'usm=100&fm=png');
    assert.ok(image.at(48, 10)[0]! < 95, `dark side ${image.at(48, 10)[0]}`);
    assert.ok(image.at(51, 10)[0]! > 165, `light side ${image.at(51, 10)[0]}`);
    assert.ok(near(image.at(5, 10), [100, 100, 100], 1) && near(image.at(95, 10), [160, 160, 160], 1));
  });

  it('a larger usmrad widens the halo; a negative usm softens the edge', async () => {
    const narrow = await rendered(await edge(), 'usm=100&usmrad=1&fm=png');
    const wide = await rendered(await edge(), 'usm=100&usmrad=8&fm=png');
    assert.ok(wide.at(56, 10)[0]! > narrow.at(56, 10)[0]! + 3, `${wide.at(56, 10)[0]} vs ${narrow.at(56, 10)[0]}`);
    const soft = await rendered(await edge(), 'usm=-100&fm=png');
    assert.ok(soft.at(48, 10)[0]! > 101 && soft.at(51, 10)[0]! < 159);
  });
});

describe('tone: high, shad, vib', () => {
  it('shad lifts the shadows more than the mid-tones, and barely touches the highlights', async () => {
    const image = await rendered(await greyRamp(), 'shad=100&fm=png');
    const lift = (x: number) => image.at(x, 8)[0]! - x;
    assert.ok(lift(51) > 40, `shadows +${lift(51)}`);
    assert.ok(lift(128) > 5 && lift(128) < lift(51) / 2, `mid-tones +${lift(128)}`);
    assert.ok(lift(230) <= 2 && lift(0) === 0, `highlights +${lift(230)}`);
  });

  it('high darkens the highlights more than the mid-tones, and barely touches the shadows', async () => {
    const image = await rendered(await greyRamp(), 'high=-100&fm=png');
    const drop = (x: number) => x - image.at(x, 8)[0]!;
    assert.ok(drop(204) > 40, `highlights -${drop(204)}`);
    assert.ok(drop(128) > 5 && drop(128) < drop(204) / 2, `mid-tones -${drop(128)}`);
    assert.ok(drop(25) <= 2 && drop(255) === 0, `shadows -${drop(25)}`);
  });

  it('high=-100 darkens the sun without turning its hue', async () => {
    const sun = [255, 212, 110];
    const after = (await rendered(await paint(20, 20, () => sun), 'high=-100&fm=png')).at(10, 10);
    assert.ok(lch(sun).l - lch(after).l > 5, `lightness ${lch(sun).l} → ${lch(after).l} (${after})`);
    assert.ok(hueShift(sun, after) <= 3, `hue moved ${hueShift(sun, after)}° (${after})`);
  });

  it('shad=100 lifts a navy sky without turning its hue', async () => {
    const navy = [20, 35, 90];
    const after = (await rendered(await paint(20, 20, () => navy), 'shad=100&fm=png')).at(10, 10);
    assert.ok(lch(after).l - lch(navy).l > 5, `lightness ${lch(navy).l} → ${lch(after).l} (${after})`);
    assert.ok(hueShift(navy, after) <= 3, `hue moved ${hueShift(navy, after)}° (${after})`);
  });

  it('vib raises the saturation of a dull colour more than that of a saturated one', async () => {
    const dull = [140, 120, 120];
    const vivid = [220, 40, 40];
    const input = await paint(100, 20, (x) => (x < 50 ? dull : vivid));
    const image = await rendered(input, 'vib=100&fm=png');
    const spread = (c: readonly number[]) => Math.max(...c) - Math.min(...c);
    const dullGain = spread(image.at(10, 10)) / spread(dull);
    const vividGain = spread(image.at(90, 10)) / spread(vivid);
    assert.ok(dullGain > 1.5, `dull ×${dullGain}`);
    assert.ok(vividGain < 1.1 && dullGain > vividGain, `vivid ×${vividGain}`);
    const muted = await rendered(input, 'vib=-100&fm=png');
    assert.ok(spread(muted.at(10, 10)) < spread(dull) / 2, 'negative vibrance mutes the dull colour');
  });
});

describe('tone: htn, nr', () => {
  it('htn turns a gradient into black and white dots', async () => {
    const image = await rendered(await greyRamp(), 'htn=50&fm=png');
    let black = 0;
    let white = 0;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const [v] = image.at(x, y);
        if (v === 0) black++;
        else if (v === 255) white++;
      }
    }
    assert.equal(black + white, image.width * image.height, 'only black and white');
    // Dark areas are mostly black, light ones mostly white.
    const share = (from: number, to: number) => {
      let count = 0;
      for (let y = 0; y < image.height; y++) for (let x = from; x < to; x++) count += image.at(x, y)[0] === 255 ? 1 : 0;
      return count / ((to - from) * image.height);
    };
    assert.ok(share(0, 40) < 0.2 && share(216, 256) > 0.8, `${share(0, 40)} / ${share(216, 256)}`);
  });

  it('nr reduces the variance of a noisy patch', async () => {
    const noisy = await sharp({ create: { width: 96, height: 96, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 12 } } })
      .png()
      .toBuffer();
    const values = async (query: string) => {
      const image = await rendered(noisy, query);
      const out: number[] = [];
      for (let y = 16; y < 80; y++) for (let x = 16; x < 80; x++) out.push(image.at(x, y)[0]!);
      return out;
    };
    const before = variance(await values('fm=png'));
    const after = variance(await values('nr=100&nrs=0&fm=png'));
    assert.ok(after < before / 3, `variance ${before.toFixed(0)} → ${after.toFixed(0)}`);
    // Default nrs sharpens what it takes for edges, so nr alone smooths less than nrs=0.
    assert.ok(variance(await values('nr=100')) > after);
  });
});

describe('tone: colorquant', () => {
  it('gives exactly N colours, also when N is not a power of two', async () => {
    const gradient = await gradientJpeg();
    for (const n of [2, 6, 17, 100]) {
      const result = await renderQuery(gradient, `w=300&colorquant=${n}&fm=png`);
      assert.equal(await colorCount(result.body), n, `colorquant=${n}`);
    }
  });

  it('keeps fewer colours when the image has fewer, and counts alpha', async () => {
    const three = await paint(60, 20, (x) => (x < 20 ? [255, 0, 0] : x < 40 ? [0, 255, 0] : [0, 0, 255]));
    assert.equal(await colorCount((await renderQuery(three, 'colorquant=8&fm=png')).body), 3);
    const result = await renderQuery(await alphaPng(), 'colorquant=3&fm=png');
    assert.equal((await sharp(result.body).metadata()).hasAlpha, true);
    assert.ok((await colorCount(result.body)) <= 3);
  });
});

describe('tone: trim modes', () => {
  /** 300×200 white with noise of ±`noise`, a red 100×60 block at (120, 70). */
  const framed = (noise = 0) =>
    paint(300, 200, (x, y) => {
      if (x >= 120 && x < 220 && y >= 70 && y < 130) return [200, 0, 0];
      const n = noise * Math.sin(x * 12.9898 + y * 78.233) * 1.0;
      return [240 + n, 240 + n, 240 + n];
    });
  const dims = async (input: Buffer, query: string) => {
    const result = await renderQuery(input, `${query}&fm=png`);
    return [result.width, result.height];
  };

  it('trim=alpha cuts to the opaque pixels; colorunlessalpha does the same with alpha', async () => {
    assert.deepEqual(await dims(await alphaPng(), 'trim=alpha'), [100, 100]);
    assert.deepEqual(await dims(await alphaPng(), 'trim=colorunlessalpha'), [100, 100]);
    const image = await pixels((await renderQuery(await alphaPng(), 'trim=alpha&fm=png')).body);
    assert.deepEqual(image.at(0, 0), [255, 0, 0, 255]);
  });

  it('trim=alpha leaves an opaque image alone; colorunlessalpha then trims trim-color', async () => {
    assert.deepEqual(await dims(await framed(), 'trim=alpha'), [300, 200]);
    assert.deepEqual(await dims(await framed(), 'trim=colorunlessalpha'), [100, 60]);
    assert.deepEqual(await dims(await framed(), 'trim=colorunlessalpha&trim-color=000'), [300, 200]);
  });

  it('trim=auto removes a noisy border within trim-md and trim-sd', async () => {
    assert.deepEqual(await dims(await framed(4), 'trim=auto'), [100, 60]);
    // Any deviation stops the walk at once: nothing is trimmed.
    assert.deepEqual(await dims(await framed(4), 'trim=auto&trim-sd=0'), [300, 200]);
    assert.deepEqual(await dims(await framed(4), 'trim=auto&trim-md=0'), [300, 200]);
  });

  it('trim=auto removes only the side that has a border', async () => {
    const rightBorder = await paint(200, 100, (x, y) => (x >= 150 ? [255, 255, 255] : [(x * 7 + y * 3) % 256, (x * 5) % 256, 90]));
    assert.deepEqual(await dims(rightBorder, 'trim=auto'), [150, 100]);
  });

  it('trim-pad keeps source pixels around the box, or cuts more', async () => {
    assert.deepEqual(await dims(await framed(), 'trim=auto&trim-pad=5'), [110, 70]);
    assert.deepEqual(await dims(await framed(), 'trim=color&trim-color=f0f0f0&trim-pad=-10'), [80, 40]);
    // Never past the source's edges.
    assert.deepEqual(await dims(await framed(), 'trim=auto&trim-pad=1000'), [300, 200]);
    const padded = await pixels((await renderQuery(await framed(), 'trim=auto&trim-pad=5&fm=png')).body);
    assert.ok(near(padded.at(0, 0), [240, 240, 240], 1) && near(padded.at(5, 5), [200, 0, 0], 1));
  });
});

describe('tone: rect outside the image', () => {
  it('is refused with INVALID_PARAMETER on rect; partly outside is clipped', async () => {
    const input = await gradientJpeg(); // 2000×1333
    await assert.rejects(renderQuery(input, 'rect=2000,0,100,100'), rejectsWith('INVALID_PARAMETER', 'rect'));
    await assert.rejects(renderQuery(input, 'rect=0,5000,100,100'), rejectsWith('INVALID_PARAMETER', 'rect'));
    await assert.rejects(renderQuery(input, 'rect=99999,99999,99999,99999'), rejectsWith('INVALID_PARAMETER', 'rect'));
    const clipped = await renderQuery(input, 'rect=1900,1300,500,500');
    assert.deepEqual([clipped.width, clipped.height], [100, 33]);
  });

  it('is checked against the trimmed size when trim runs first', async () => {
    const input = await alphaPng(); // 100×100 after trim=alpha
    const inside = await renderQuery(input, 'trim=alpha&rect=50,50,200,200&fm=png');
    assert.deepEqual([inside.width, inside.height], [50, 50]);
    await assert.rejects(renderQuery(input, 'trim=alpha&rect=150,0,10,10&fm=png'), rejectsWith('INVALID_PARAMETER', 'rect'));
  });
});

describe('tone: parameters', () => {
  const canonical = (query: string) => parseParams(query).canonical;

  it('drops defaults and parameters whose dependencies are missing', () => {
    assert.equal(canonical('usmrad=4'), '');
    assert.equal(canonical('usm=20&usmrad=2.5'), 'usm=20');
    assert.equal(canonical('duotone-alpha=50'), '');
    assert.equal(canonical('duotone=000,fff&duotone-alpha=0'), '');
    assert.equal(canonical('trim-md=3&trim-pad=4'), '');
    assert.equal(canonical('trim=color&trim-md=3&trim-sd=11'), 'trim=color');
    assert.equal(canonical('trim=auto&trim-md=11&trim-sd=10'), 'trim=auto');
    assert.equal(canonical('high=0&shad=0&vib=0&htn=0&usm=0'), '');
  });

  it('nr and nrs come together, the missing one at its default', () => {
    assert.equal(canonical('nr=50'), 'nr=50&nrs=20');
    assert.equal(canonical('nrs=-30'), 'nr=20&nrs=-30');
    assert.equal(canonical('nr=-10&nrs=0'), '');
  });

  it('clamps values beyond the documented ranges', () => {
    assert.equal(canonical('colorquant=100000'), 'colorquant=256');
    assert.equal(canonical('colorquant=1'), 'colorquant=2');
    assert.equal(canonical('usm=5000&usmrad=1000000000'), 'usm=100&usmrad=100');
    assert.equal(canonical('high=50&shad=-50'), '');
    assert.equal(canonical('htn=1000&vib=-1000'), 'htn=100&vib=-100');
    assert.equal(canonical('trim=auto&trim-pad=999999999'), 'trim=auto&trim-pad=200');
  });

  it('renders hostile values in bounded time and size', async () => {
    const input = await gradientJpeg();
    for (const query of ['w=200&colorquant=100000&usm=5000&usmrad=1000000000', 'w=200&htn=1000000&nr=1000000000&nrs=-1000000000', 'w=200&trim=auto&trim-pad=-999999999&trim-md=1000000000', 'w=200&high=-1000000000&shad=1000000000&vib=1000000000']) {
      const result = await renderQuery(input, query);
      assert.ok(result.body.length > 0 && result.width! <= 200, query);
    }
  });

  it('charges the raw copies of these steps in the memory estimate', () => {
    const input = { format: 'jpeg', width: 4000, height: 3000, progressive: false, frames: 1 };
    const output = { format: 'png' as const, width: 4000, height: 3000 };
    const plain = estimateRenderCost(input, output, parseParams('').params).bytes;
    for (const query of ['usm=50', 'nr=50', 'duotone=000,fff', 'htn=10', 'vib=20', 'colorquant=8']) {
      assert.ok(estimateRenderCost(input, output, parseParams(query).params).bytes >= plain + 4 * 4000 * 3000, query);
    }
  });
});

describe('tone over HTTP', () => {
  let t: TestPictor;
  before(async () => {
    const photo = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();
    t = await startPictor({ assets: { 'photo.jpg': photo } });
  });
  after(() => t.stop());

  it('answers 400 naming rect for a rectangle outside the image', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?rect=400,0,50,50');
    assert.equal(response.status, 400);
    assert.match(response.body.toString(), /rect/);
    assert.match(response.body.toString(), /outside the 400×300 image/);
  });

  it('renders duotone and colorquant', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=40&duotone=000,fff&colorquant=2&fm=png');
    assert.equal(response.status, 200);
    assert.ok((await colorCount(response.body)) <= 2);
  });
});
