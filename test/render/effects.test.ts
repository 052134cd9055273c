import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import {
  alphaPng, BLUE, GREEN, near, pixels, quadrantsPng, RED, renderQuery, solid, YELLOW,
} from './fixtures.ts';

const GREY = [128, 128, 128] as const;

async function centre(input: Buffer, query: string): Promise<number[]> {
  const image = await pixels((await renderQuery(input, query)).body);
  return image.at(image.width >> 1, image.height >> 1);
}

describe('render: adjustments on a mid-grey JPEG', () => {
  it('bri brightens and darkens', async () => {
    const input = await solid(64, 64, GREY, 'jpeg');
    const [plain] = await centre(input, '');
    const [brighter] = await centre(input, 'bri=50');
    const [darker] = await centre(input, 'bri=-50');
    assert.ok(brighter! > plain! + 40, `${brighter} vs ${plain}`);
    assert.ok(darker! < plain! - 40, `${darker} vs ${plain}`);
  });

  it('con spreads values away from mid-grey', async () => {
    const input = await solid(64, 64, [200, 60, 128], 'png');
    const [r, g] = await centre(input, 'con=50');
    assert.ok(r! > 230 && g! < 40, `${r},${g}`);
  });

  it('exp and gam brighten for positive values', async () => {
    const input = await solid(64, 64, GREY, 'png');
    assert.ok((await centre(input, 'exp=50'))[0]! > 150);
    assert.ok((await centre(input, 'gam=50'))[0]! > 150);
    assert.ok((await centre(input, 'gam=-50'))[0]! < 100);
  });

  it('invert negates the colours', async () => {
    assert.ok(near(await centre(await solid(64, 64, [255, 0, 0], 'jpeg'), 'invert=true'), [0, 255, 255]));
  });

  it('sat=-100 is greyscale with three bands', async () => {
    const result = await renderQuery(await solid(64, 64, [200, 40, 40], 'jpeg'), 'sat=-100');
    const image = await pixels(result.body);
    assert.equal(image.channels, 3);
    const [r, g, b] = image.at(32, 32);
    assert.ok(Math.abs(r! - g!) <= 3 && Math.abs(g! - b!) <= 3, `${r},${g},${b}`);
  });

  it('hue rotates red towards green', async () => {
    const [r, g] = await centre(await solid(64, 64, RED, 'png'), 'hue=120');
    assert.ok(g! > r!, `${r},${g}`);
  });

  it('sharp and blur run (blur lowers local contrast at an edge)', async () => {
    const input = await quadrantsPng();
    const edge = async (query: string) => (await pixels((await renderQuery(input, `w=200&fm=png&${query}`)).body)).at(98, 30);
    const sharpEdge = await edge('');
    const blurred = await edge('blur=200');
    assert.ok(near(sharpEdge, RED, 30), `${sharpEdge}`);
    assert.ok(blurred[1]! > 40, `green bleeds in: ${blurred}`);
    await renderQuery(input, 'w=200&sharp=80');
  });
});

/** Sum of squared differences between horizontal neighbours: a blur spreads every edge, so this falls. */
async function edgeEnergy(input: Buffer, query: string): Promise<number> {
  const { data, info } = await sharp((await renderQuery(input, `w=200&fm=png&${query}`)).body).raw().toBuffer({ resolveWithObject: true });
  let energy = 0;
  for (let i = info.channels; i < data.length; i++) {
    if (i % (info.width * info.channels) >= info.channels) energy += (data[i]! - data[i - info.channels]!) ** 2;
  }
  return energy;
}

describe('render: blur', () => {
  it('blur=1 already changes the image', async () => {
    const input = await quadrantsPng();
    const plain = await renderQuery(input, 'w=200&fm=png');
    const blurred = await renderQuery(input, 'w=200&fm=png&blur=1');
    const [a, b] = await Promise.all([plain, blurred].map((r) => sharp(r.body).raw().toBuffer()));
    assert.notDeepEqual(a, b);
  });

  it('each larger blur value smooths the edges more', async () => {
    const input = await quadrantsPng();
    const values = [0, 1, 5, 10, 20, 100];
    const energies = [];
    for (const blur of values) energies.push(await edgeEnergy(input, blur ? `blur=${blur}` : ''));
    for (let i = 1; i < values.length; i++) {
      assert.ok(energies[i]! < energies[i - 1]!, `blur=${values[i]}: ${energies[i]} not below ${energies[i - 1]}`);
    }
  });
});

describe('render: stylize', () => {
  it('monochrome tints the luminance with the colour, keeping 3 bands', async () => {
    const result = await renderQuery(await solid(64, 64, [255, 255, 255], 'jpeg'), 'mono=ff0000');
    const image = await pixels(result.body);
    assert.equal(image.channels, 3);
    assert.ok(near(image.at(32, 32), [255, 0, 0], 16), `${image.at(32, 32)}`);
  });

  it('a translucent monochrome colour (ARGB) mixes with the original', async () => {
    // Luminance of blue is ~18; half of that grey mixed with half of the original blue.
    const [r, g, b] = await centre(await solid(64, 64, [0, 0, 255], 'png'), 'mono=80ffffff');
    assert.ok(near([r!, g!, b!], [9, 9, 136], 4), `${r},${g},${b}`);
  });

  it('sepia turns grey brownish', async () => {
    const [r, g, b] = await centre(await solid(64, 64, GREY, 'png'), 'sepia=100');
    assert.ok(r! > g! && g! > b!, `${r},${g},${b}`);
  });

  it('px pixelates into blocks', async () => {
    const image = await pixels((await renderQuery(await gradientPng(), 'px=10&fm=png')).body);
    assert.deepEqual(image.at(0, 0), image.at(9, 9));
    assert.notDeepEqual(image.at(0, 0), image.at(19, 0));
  });
});

describe('render: crop gravity and order of operations (quadrants source)', () => {
  const at = async (query: string, x: number, y: number) => (await pixels((await renderQuery(await quadrantsPng(), query)).body)).at(x, y);

  // 2000×1333 covering 300×300 is 450×300: only the horizontal gravity matters (red/green split at x=225).
  // Covering 300×50 is 300×200: only the vertical gravity matters (top rows red, bottom rows blue).
  it('directional crops keep the named edges', async () => {
    assert.ok(near(await at('w=300&h=300&fit=crop&crop=left', 100, 5), RED));
    assert.ok(near(await at('w=300&h=300&fit=crop&crop=right', 100, 5), GREEN));
    assert.ok(near(await at('w=300&h=300&fit=crop', 100, 5), RED), 'centre: columns 75..375');
    assert.ok(near(await at('w=300&h=50&fit=crop&crop=top', 5, 5), RED));
    assert.ok(near(await at('w=300&h=50&fit=crop&crop=bottom', 5, 5), BLUE));
    assert.ok(near(await at('w=300&h=50&fit=crop&crop=bottom,right', 295, 45), YELLOW));
    assert.ok(near(await at('w=300&h=50&fit=crop&crop=faces,bottom', 5, 5), BLUE), 'faces falls through to the next value');
  });

  it('flips after cropping', async () => {
    assert.ok(near(await at('w=300&h=300&fit=crop&crop=left&flip=h', 199, 5), RED), 'column 100 mirrored to 199');
    assert.ok(near(await at('w=300&h=300&fit=crop&crop=left&flip=h', 5, 5), GREEN));
    assert.ok(near(await at('w=300&h=50&fit=crop&crop=top&flip=v', 5, 45), RED));
  });

  it('focal point picks the region around fp-x/fp-y', async () => {
    assert.ok(near(await at('w=100&h=100&fit=crop&crop=focalpoint&fp-x=0.9&fp-y=0.9&fp-z=3', 50, 50), YELLOW));
    assert.ok(near(await at('w=100&h=100&fit=crop&crop=focalpoint&fp-x=0.1&fp-y=0.9', 50, 50), BLUE));
  });

  it('rect selects a source region', async () => {
    assert.ok(near(await at('rect=1000,0,1000,666&w=100', 50, 30), GREEN));
  });
});

describe('render: backgrounds, padding and fill', () => {
  it('JPEG output flattens transparency onto bg, or white', async () => {
    const input = await alphaPng();
    assert.ok(near((await pixels((await renderQuery(input, 'fm=jpg')).body)).at(5, 5), [255, 255, 255]));
    assert.ok(near((await pixels((await renderQuery(input, 'fm=jpg&bg=00f')).body)).at(5, 5), BLUE));
    assert.ok(near((await pixels((await renderQuery(input, 'fm=jpg&bg=00f')).body)).at(150, 100), RED));
  });

  it('PNG keeps transparency; bg fills it (ARGB: 80 = half transparent)', async () => {
    const input = await alphaPng();
    assert.equal((await pixels((await renderQuery(input, '')).body)).at(5, 5)[3], 0);
    assert.deepEqual((await pixels((await renderQuery(input, 'bg=0f0')).body)).at(5, 5), [0, 255, 0]);
    const translucent = (await pixels((await renderQuery(input, 'bg=8000ff00')).body)).at(5, 5);
    assert.ok(near(translucent, [0, 255, 0, 128], 2), `${translucent}`);
    assert.ok(near((await pixels((await renderQuery(input, 'bg=8000ff00')).body)).at(150, 100), [255, 0, 0, 255], 2));
  });

  it('a translucent bg is applied once, to padding as to transparent pixels', async () => {
    const padded = await pixels((await renderQuery(await alphaPng(), 'bg=8000ff00&pad=10')).body);
    assert.ok(near(padded.at(2, 2), [0, 255, 0, 128], 2), `pad: ${padded.at(2, 2)}`);
    assert.ok(near(padded.at(20, 20), [0, 255, 0, 128], 2), `image: ${padded.at(20, 20)}`);
    const filled = await pixels((await renderQuery(await solid(200, 100, BLUE, 'png'), 'w=200&h=200&fit=fill&fill-color=80ff0000&bg=0f0')).body);
    assert.ok(near(filled.at(100, 5), [128, 127, 0], 3), `fill over bg: ${filled.at(100, 5)}`);
  });

  it('pad adds bg-coloured borders; adjustments do not touch them', async () => {
    const result = await renderQuery(await solid(100, 100, GREY, 'jpeg'), 'pad=20&bg=f00&invert=true');
    const image = await pixels(result.body);
    assert.deepEqual([image.width, image.height], [140, 140]);
    assert.ok(near(image.at(3, 3), RED), `${image.at(3, 3)}`);
    assert.ok(near(image.at(70, 70), [127, 127, 127]));
    const sides = await pixels((await renderQuery(await solid(100, 100, GREY, 'png'), 'pad-left=30&pad-top=5')).body);
    assert.deepEqual([sides.width, sides.height], [130, 105]);
    assert.equal(sides.at(2, 50)[3], 0, 'transparent padding on PNG without bg');
  });

  it('fit=fill pads with fill-color (white by default); fit=clamp repeats edge pixels', async () => {
    const input = await solid(200, 100, BLUE, 'png');
    const filled = await pixels((await renderQuery(input, 'w=200&h=200&fit=fill')).body);
    assert.ok(near(filled.at(100, 5), [255, 255, 255]) && near(filled.at(100, 100), BLUE));
    const coloured = await pixels((await renderQuery(input, 'w=200&h=200&fit=fill&fill-color=0f0')).body);
    assert.ok(near(coloured.at(100, 5), GREEN));
    const clamped = await pixels((await renderQuery(input, 'w=200&h=200&fit=clamp')).body);
    assert.ok(near(clamped.at(100, 5), BLUE));
  });

  it('rot straighten shows no corners; pivot fills them with bg', async () => {
    const input = await solid(400, 200, BLUE, 'jpeg');
    const straight = await pixels((await renderQuery(input, 'rot=30&bg=f00')).body);
    assert.ok(near(straight.at(1, 1), BLUE, 30), `${straight.at(1, 1)}`);
    const pivot = await pixels((await renderQuery(input, 'rot=30&rot-type=pivot&bg=f00')).body);
    assert.ok(near(pivot.at(1, 1), RED, 30), `${pivot.at(1, 1)}`);
  });
});

/** 200×100 PNG, a horizontal gradient: every column differs. */
function gradientPng(): Promise<Buffer> {
  const width = 200;
  const height = 100;
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.fill(Math.round(((i % width) / width) * 255), i * 3, i * 3 + 3);
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
