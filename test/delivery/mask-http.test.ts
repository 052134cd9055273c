import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** RGBA at (x, y) of an encoded image. */
async function rgba(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * 4;
  return [...data.subarray(i, i + 4)];
}

/** 20×20: white on the left half, black on the right. */
function halfMask(): Promise<Buffer> {
  return sharp({ create: { width: 20, height: 20, channels: 3, background: '#000' } })
    .composite([{ input: { create: { width: 10, height: 20, channels: 3, background: '#fff' } }, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

describe('image masks through the delivery layer', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'photo.jpg': await solidImage(400, 300, [0, 0, 220]), 'masks/half.png': await halfMask() } });
  });
  after(() => t.stop());

  it('mask=<path or URL on a Source> keeps the white half and hides the black one', async () => {
    for (const query of ['mask=/masks/half.png', `mask64=${b64(`${t.renderUrl}/masks/half.png`)}`]) {
      const response = await rawGet(t.renderPort, `/photo.jpg?fm=png&${query}`);
      assert.equal(response.status, 200, query);
      assert.equal((await rgba(response.body, 100, 150))[3], 255, `${query}: white keeps`);
      assert.equal((await rgba(response.body, 300, 150))[3], 0, `${query}: black hides`);
    }
  });

  it('the shapes need no fetch; mask-bg fills what the mask hides', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?fm=png&mask=ellipse&mask-bg=f00');
    assert.equal(response.status, 200);
    assert.deepEqual((await rgba(response.body, 0, 0)).slice(0, 3), [255, 0, 0]);
  });

  it('refuses a mask URL outside Pictor’s Sources, and a mask with a sub-image of its own, with 400', async () => {
    for (const [path, reason] of [
      [`/photo.jpg?mask64=${b64('https://elsewhere.example/half.png')}`, /Invalid mask: the host "elsewhere.example" is not a domain of any Source/],
      [`/photo.jpg?mask64=${b64('/masks/half.png?mark=/photo.jpg')}`, /mark, blend or image mask of its own/],
    ] as const) {
      const response = await rawGet(t.renderPort, path);
      assert.equal(response.status, 400, path);
      assert.match(response.body.toString(), reason);
    }
  });

  it('purging the mask image refreshes the images that use it', async () => {
    const parent = '/photo.jpg?fm=png&w=400&mask=/masks/swap.png';
    await t.put('masks/swap.png', await halfMask());
    assert.equal((await rgba((await rawGet(t.renderPort, parent)).body, 300, 150))[3], 0);
    await t.put('masks/swap.png', await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer());
    await t.purgeAndWait(`${t.renderUrl}/masks/swap.png`);
    assert.equal((await rgba((await rawGet(t.renderPort, parent)).body, 300, 150))[3], 255, 'the all-white mask keeps everything');
  });

  it('a mask that is missing renders the image without it', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?fm=png&mask=/masks/none.png');
    assert.equal(response.status, 200);
    assert.equal((await rgba(response.body, 300, 150))[3], 255);
  });
});
