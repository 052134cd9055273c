import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

describe('txt over HTTP', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'photo.jpg': await solidImage(400, 300, [10, 120, 200]) } });
  });
  after(() => t.stop());

  it('draws the text in the bottom-right corner and nowhere else', async () => {
    const response = await rawGet(t.renderPort, `/photo.jpg?fm=png&txt64=${Buffer.from('Hello <b> & 日本').toString('base64url')}&txt-size=24&txt-color=fff`);
    assert.equal(response.status, 200);
    const { data, info } = await sharp(response.body).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    let inkLeft = info.width;
    let inkTop = info.height;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        if (at(x, y) > 120) {
          inkLeft = Math.min(inkLeft, x);
          inkTop = Math.min(inkTop, y);
        }
      }
    }
    assert.ok(inkTop > 240 && inkLeft > 150 && inkLeft < 380, `white ink from ${inkLeft},${inkTop}`);
  });

  it('answers hostile text with a 400 that names the parameter, and absurd sizes with a bounded image', async () => {
    const long = await rawGet(t.renderPort, `/photo.jpg?txt=${'x'.repeat(501)}`);
    assert.equal(long.status, 400);
    assert.match(long.body.toString(), /txt must be at most 500 characters/);
    const absurd = await rawGet(t.renderPort, `/photo.jpg?txt=${'W'.repeat(500)}&txt-size=99999&txt-line=99999&txt-shad=99&txt-track=99999`);
    assert.equal(absurd.status, 200);
    const meta = await sharp(absurd.body).metadata();
    assert.deepEqual([meta.width, meta.height], [400, 300]);
  });
});
