import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** The colour at (x, y) of an encoded image. */
async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}
const isRed = (rgb: number[]) => rgb[0]! > 180 && rgb[1]! < 80 && rgb[2]! < 80;
const isBlue = (rgb: number[]) => rgb[2]! > 180 && rgb[0]! < 80 && rgb[1]! < 80;
const isWhite = (rgb: number[]) => rgb.every((value) => value > 200);

describe('mark and blend sub-images through the delivery layer', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(400, 300, [255, 255, 255]), 'logo.png': await solidImage(40, 20, [220, 0, 0], 'png') },
      options: { purgeRateLimit: '1000' },
    });
  });
  after(() => t.stop());

  it('draws a mark from the same Source, bottom-right with padding, by path or by URL', async () => {
    for (const query of ['mark=/logo.png', `mark64=${b64(`${t.renderUrl}/logo.png`)}`]) {
      const response = await rawGet(t.renderPort, `/photo.jpg?w=400&fm=png&${query}`);
      assert.equal(response.status, 200, query);
      assert.ok(isRed(await pixel(response.body, 400 - 5 - 20, 300 - 5 - 10)), `${query}: the mark is there`);
      assert.ok(isWhite(await pixel(response.body, 10, 10)), `${query}: the rest is untouched`);
    }
  });

  it('renders a sub-image with its own parameters (one level)', async () => {
    const response = await rawGet(t.renderPort, `/photo.jpg?fm=png&mark64=${b64('/logo.png?w=10')}`);
    assert.equal(response.status, 200);
    assert.ok(isRed(await pixel(response.body, 400 - 5 - 5, 300 - 5 - 2)));
    assert.ok(isWhite(await pixel(response.body, 400 - 5 - 20, 300 - 5 - 10)), 'the mark was shrunk to 10 px first');
  });

  it('refuses loops, a second level, and URLs outside Pictor’s Sources with 400', async () => {
    for (const [path, reason] of [
      ['/logo.png?mark=/logo.png', /own sub-image/],
      [`/photo.jpg?mark64=${b64('/logo.png?mark=/photo.jpg')}`, /mark, blend or image mask of its own/],
      [`/photo.jpg?mark64=${b64('https://elsewhere.example/logo.png')}`, /not a domain of any Source/],
    ] as const) {
      const response = await rawGet(t.renderPort, path);
      assert.equal(response.status, 400, path);
      assert.match(response.body.toString(), reason);
    }
  });

  it('every parent derivative changes after the mark is replaced and purged (sub_image purge and plain purge)', async () => {
    const parents = ['/photo.jpg?w=400&fm=png&mark=/logo.png', '/photo.jpg?w=400&fm=png&mark=/logo.png&mark-align=top,left', `/photo.jpg?w=400&fm=png&blend64=${b64('/logo.png')}&blend-mode=normal&blend-size=inherit`];
    for (const parent of parents) await rawGet(t.renderPort, parent);
    await t.put('logo.png', await solidImage(40, 20, [0, 0, 220], 'png'));
    const cached = await rawGet(t.renderPort, parents[0]!);
    assert.match(String(cached.headers['cache-status']), /^Pictor; hit/, 'still cached before the purge');

    const { status, body } = await t.purge(`${t.renderUrl}/logo.png`, { sub_image: true, source_id: t.defaultSourceId });
    assert.equal(status, 200);
    await t.waitForPurge(body.data!.id);

    const marked = await rawGet(t.renderPort, parents[0]!);
    assert.ok(isBlue(await pixel(marked.body, 400 - 5 - 20, 300 - 5 - 10)), 'bottom-right mark is the new version');
    const topLeft = await rawGet(t.renderPort, parents[1]!);
    assert.ok(isBlue(await pixel(topLeft.body, 5 + 20, 5 + 10)), 'top-left mark is the new version');
    const blended = await rawGet(t.renderPort, parents[2]!);
    assert.ok(isBlue(await pixel(blended.body, 200, 150)), 'the blend is the new version');

    // A plain purge of the sub-image (no sub_image flag) reaches the parents too.
    await t.put('logo.png', await solidImage(40, 20, [220, 0, 0], 'png'));
    await t.purgeAndWait(`${t.renderUrl}/logo.png`);
    assert.ok(isRed(await pixel((await rawGet(t.renderPort, parents[0]!)).body, 400 - 5 - 20, 300 - 5 - 10)));
  });

  it('renders without the layer when the sub-image is missing, and purging it later brings it in', async () => {
    const parent = '/photo.jpg?w=400&fm=png&mark=/later.png';
    const without = await rawGet(t.renderPort, parent);
    assert.equal(without.status, 200);
    assert.ok(isWhite(await pixel(without.body, 400 - 5 - 20, 300 - 5 - 10)));
    await t.put('later.png', await solidImage(40, 20, [220, 0, 0], 'png'));
    await t.purgeAndWait(`${t.renderUrl}/later.png`);
    assert.ok(isRed(await pixel((await rawGet(t.renderPort, parent)).body, 400 - 5 - 20, 300 - 5 - 10)));
  });
});
