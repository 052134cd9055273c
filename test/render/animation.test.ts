/**
 * Animated inputs stay animated: frame count, delays and loop count survive every step; the animation
 * parameters pick, reorder and retime frames; limits refuse hostile animations. Pixels are sampled at the
 * centre of each frame (a native resize blends the outermost rows of neighbouring frames, see docs/rendering.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { parseParams } from '../../src/render/params.ts';
import { prepareRender, render } from '../../src/render/pipeline.ts';
import { OPTIONS, renderQuery } from './fixtures.ts';

const COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]] as const;
const DELAYS = [100, 200, 300, 400];

/** A 4-frame animation, 80×60, one solid colour per frame, delays 100–400 ms, played 3 times. */
async function animation(format: 'gif' | 'webp' = 'gif', width = 80, height = 60): Promise<Buffer> {
  const frames = await Promise.all(COLOURS.map(([r, g, b]) => sharp({ create: { width, height, channels: 4, background: { r, g, b } } }).png().toBuffer()));
  const joined = sharp(frames, { join: { animated: true } });
  return (format === 'gif' ? joined.gif({ delay: DELAYS, loop: 3 }) : joined.webp({ delay: DELAYS, loop: 3, lossless: true })).toBuffer();
}

interface Frames {
  format: string;
  width: number;
  height: number;
  delay: number[] | undefined;
  loop: number | undefined;
  /** The RGB at the centre of each frame. */
  centres: number[][];
  pixel(frame: number, x: number, y: number): number[];
}

async function frames(encoded: Buffer): Promise<Frames> {
  const meta = await sharp(encoded).metadata();
  const { data, info } = await sharp(encoded, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const height = info.pageHeight ?? info.height;
  const pages = info.pages ?? 1;
  const pixel = (frame: number, x: number, y: number) => {
    const i = ((frame * height + y) * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  const centres = Array.from({ length: pages }, (_, frame) => pixel(frame, Math.floor(info.width / 2), Math.floor(height / 2)));
  return { format: String(meta.format), width: info.width, height, delay: meta.delay, loop: meta.loop, centres, pixel };
}

function assertColours(actual: number[][], expected: readonly (readonly number[])[], tolerance = 8): void {
  assert.equal(actual.length, expected.length, `frames: ${JSON.stringify(actual)}`);
  for (const [i, colour] of expected.entries()) {
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(actual[i]![c]! - colour[c]!) <= tolerance, `frame ${i + 1}: ${actual[i]} instead of ${colour}`);
    }
  }
}

async function pipelineMode(input: Buffer, query: string): Promise<string | undefined> {
  return (await prepareRender(input, parseParams(query).params, OPTIONS)).animation;
}

describe('animated inputs', () => {
  it('keep every frame, delay and the loop count through a resize, in one native pipeline', async () => {
    const input = await animation();
    assert.equal(await pipelineMode(input, 'w=40'), 'native');
    const out = await frames((await renderQuery(input, 'w=40')).body);
    assert.deepEqual([out.format, out.width, out.height], ['gif', 40, 30]);
    assert.deepEqual(out.delay, DELAYS);
    assert.equal(out.loop, 3);
    assertColours(out.centres, COLOURS);
  });

  it('keep them through a crop, a pad and colour adjustments', async () => {
    const input = await animation();
    const result = await renderQuery(input, 'w=30&h=30&fit=crop&crop=left&pad=5&bg=000&invert=true');
    const out = await frames(result.body);
    assert.deepEqual([out.width, out.height], [30, 30], 'the padding fits inside the requested box');
    assert.deepEqual(out.delay, DELAYS);
    assertColours(out.centres, COLOURS.map((c) => c.map((v) => 255 - v)));
    assert.deepEqual(out.pixel(2, 1, 1), [0, 0, 0], 'the padding is bg');
  });

  it('keep them through a watermark, which is drawn on every frame', async () => {
    const input = await animation();
    const mark = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 255, g: 255, b: 255 } } }).png().toBuffer();
    const params = parseParams('w=40&mark=/m.png&mark-align=top,left&mark-pad=0').params;
    assert.equal((await prepareRender(input, params, OPTIONS)).animation, 'frames');
    const out = await frames((await render(input, params, { ...OPTIONS, subImages: { mark } })).body);
    assert.deepEqual(out.delay, DELAYS);
    assert.equal(out.loop, 3);
    assertColours(out.centres, COLOURS);
    for (let frame = 0; frame < 4; frame++) assert.deepEqual(out.pixel(frame, 4, 4), [255, 255, 255], `mark on frame ${frame + 1}`);
  });

  it('keep them through a flip and a rotation (per frame: the strip of frames must not be flipped)', async () => {
    const input = await animation();
    for (const query of ['w=40&flip=v', 'w=40&rot=90&rot-type=pivot', 'w=40&blur=20']) {
      const out = await frames((await renderQuery(input, query)).body);
      assert.deepEqual(out.delay, DELAYS, query);
      assertColours(out.centres, COLOURS);
    }
  });

  it('convert between GIF and WebP with their frames; AVIF (no sequences in sharp) is a still of the first frame', async () => {
    const gif = await animation('gif');
    const webp = await frames((await renderQuery(gif, 'fm=webp')).body);
    assert.equal(webp.format, 'webp');
    assert.deepEqual(webp.delay, DELAYS);
    assertColours(webp.centres, COLOURS);
    const back = await frames((await renderQuery(await animation('webp'), 'w=40&fm=gif')).body);
    assert.equal(back.format, 'gif');
    assert.deepEqual(back.delay, DELAYS);
    assertColours(back.centres, COLOURS);
    const avif = await renderQuery(gif, 'fm=avif');
    assert.equal(avif.format, 'avif');
    assert.deepEqual([avif.width, avif.height], [80, 60]);
    assert.equal((await sharp(avif.body).metadata()).pages ?? 1, 1);
  });

  it('auto=format prefers WebP over AVIF, and auto=compress keeps the animation', async () => {
    const gif = await animation();
    const negotiated = await renderQuery(gif, 'auto=format', { acceptClass: 'avif' });
    assert.equal(negotiated.format, 'webp');
    assert.equal((await frames(negotiated.body)).centres.length, 4);
    const compressed = await renderQuery(gif, 'auto=compress');
    assert.equal(compressed.format, 'gif');
    assert.equal((await frames(compressed.body)).centres.length, 4);
  });

  it('give JPEG and PNG outputs the first frame, or the frame asked for', async () => {
    const gif = await animation();
    assertColours((await frames((await renderQuery(gif, 'fm=jpg')).body)).centres, [COLOURS[0]]);
    assertColours((await frames((await renderQuery(gif, 'fm=png&frame=3')).body)).centres, [COLOURS[2]]);
    const still = await frames((await renderQuery(gif, 'frame=2&w=40')).body);
    assertColours(still.centres, [COLOURS[1]]);
  });
});

describe('animation parameters', () => {
  it('frame ranges: M-N, M- and -N', async () => {
    const gif = await animation();
    const middle = await frames((await renderQuery(gif, 'frame=2-3')).body);
    assertColours(middle.centres, [COLOURS[1], COLOURS[2]]);
    assert.deepEqual(middle.delay, [200, 300]);
    assertColours((await frames((await renderQuery(gif, 'frame=3-')).body)).centres, [COLOURS[2], COLOURS[3]]);
    assertColours((await frames((await renderQuery(gif, 'frame=-2')).body)).centres, [COLOURS[0], COLOURS[1]]);
    assertColours((await frames((await renderQuery(gif, 'frame=3-99')).body)).centres, [COLOURS[2], COLOURS[3]]);
  });

  it('reverse turns the frames and their delays around', async () => {
    const out = await frames((await renderQuery(await animation(), 'reverse=true&w=40')).body);
    assertColours(out.centres, [...COLOURS].reverse());
    assert.deepEqual(out.delay, [...DELAYS].reverse());
  });

  it('interval keeps every Nth frame, skip drops every Nth, both from the first', async () => {
    const gif = await animation();
    const kept = await frames((await renderQuery(gif, 'interval=2')).body);
    assertColours(kept.centres, [COLOURS[0], COLOURS[2]]);
    assert.deepEqual(kept.delay, [100, 300]);
    const skipped = await frames((await renderQuery(gif, 'skip=3')).body);
    assertColours(skipped.centres, [COLOURS[1], COLOURS[2]]);
    assert.deepEqual(skipped.delay, [200, 300]);
  });

  it('fps replaces every delay, loop the loop count (0 = forever)', async () => {
    const gif = await animation();
    const out = await frames((await renderQuery(gif, 'fps=20&loop=0')).body);
    assert.deepEqual(out.delay, [50, 50, 50, 50]);
    assert.equal(out.loop, 0);
    assert.equal((await frames((await renderQuery(gif, 'loop=7&fm=webp')).body)).loop, 7);
  });

  it('normalise to one cache key per meaning, and refuse what cannot mean anything', () => {
    assert.equal(parseParams('frame=-3').canonical, 'frame=1-3');
    assert.equal(parseParams('frame=1-').canonical, '');
    assert.equal(parseParams('frame=4-4').canonical, 'frame=4');
    assert.equal(parseParams('interval=1&reverse=false').canonical, '');
    assert.equal(parseParams('fps=500').canonical, 'fps=60');
    for (const query of ['frame=0', 'frame=5-2', 'skip=1', 'frame=abc', 'frame=99999999999']) {
      assert.throws(() => parseParams(query), (error: unknown) => isPictorError(error) && error.status === 400, query);
    }
  });

  it('are ignored by still images', async () => {
    const still = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#08f' } }).png().toBuffer();
    const result = await renderQuery(still, 'frame=3&reverse=true&skip=2');
    assert.deepEqual([result.format, result.width], ['png', 20]);
  });
});

describe('animation limits', () => {
  async function refused(input: Buffer, query: string, status: number, pattern: RegExp): Promise<void> {
    await assert.rejects(renderQuery(input, query), (error: unknown) => {
      assert.ok(isPictorError(error), String(error));
      assert.equal(error.status, status);
      assert.match(error.message, pattern);
      return true;
    });
  }

  it('refuse a frame past the end', async () => {
    await refused(await animation(), 'frame=9', 400, /animation has 4 frames/);
  });

  it('refuse more frames than imgix accepts, from the header alone', async () => {
    const black = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
    const white = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } }).png().toBuffer();
    // Alternating frames: the GIF encoder would merge identical neighbours.
    const many = await sharp(Array.from({ length: 901 }, (_, i) => (i % 2 ? white : black)), { join: { animated: true } }).gif().toBuffer();
    assert.equal((await sharp(many).metadata()).pages, 901);
    await refused(many, 'w=1', 413, /901 frames, more than the limit of 900/);
  });

  it('refuse an animation whose frames together are too large, and charge frames in the estimate', async () => {
    const gif = await animation();
    await refused(gif, 'w=8000', 413, /4 frames of 8000×6000 pixels/);
    const one = await prepareRender(gif, parseParams('w=40&fm=png').params, OPTIONS);
    const all = await prepareRender(gif, parseParams('w=40&rot=10').params, OPTIONS);
    assert.ok(all.cost.bytes > one.cost.bytes, `${all.cost.bytes} vs ${one.cost.bytes}`);
  });
});
