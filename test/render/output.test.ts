import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { ADOBE_RGB_1998, buildProfile, profilePath, TINY_SRGB } from '../../src/render/icc-profiles.ts';
import { parseParams } from '../../src/render/params.ts';
import { gradientJpeg, renderQuery, solid } from './fixtures.ts';

/** A JPEG with an IPTC caption (APP13 Photoshop block) and EXIF that must not leak. */
async function jpegWithIptc(caption: string): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
    .withExif({ IFD0: { Artist: 'Private Person' } })
    .jpeg()
    .toBuffer();
  const text = Buffer.from(caption);
  const record = Buffer.concat([Buffer.from([0x1c, 0x02, 0x78, text.length >> 8, text.length & 255]), text]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(record.length);
  const data = record.length % 2 ? Buffer.concat([record, Buffer.alloc(1)]) : record;
  const block = Buffer.concat([Buffer.from('Photoshop 3.0\0'), Buffer.from('8BIM'), Buffer.from([0x04, 0x04, 0, 0]), size, data]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(block.length + 2);
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xed]), length, block, jpeg.subarray(2)]);
}

async function metadataOf(input: Buffer, query: string): Promise<Metadata> {
  return sharp((await renderQuery(input, query)).body).metadata();
}

/** The first pixel as stored in the file, without applying its profile. */
async function storedPixel(body: Buffer): Promise<number[]> {
  return [...(await sharp(body, { ignoreIcc: true } as SharpOptions).raw().toBuffer()).subarray(0, 3)];
}

describe('render: output settings (jpg-progressive, chromasub, cs, dpi, iptc)', () => {
  it('plain fm=jpg and a JPEG source without fm are progressive; jpg-progressive=false is baseline', async () => {
    const input = await gradientJpeg();
    assert.equal((await metadataOf(input, 'w=120&fm=jpg')).isProgressive, true);
    assert.equal((await metadataOf(input, 'w=120')).isProgressive, true);
    assert.equal((await metadataOf(input, 'w=120&fm=jpg&jpg-progressive=false')).isProgressive, false);
    assert.equal((await metadataOf(input, 'w=120&jpeg-progressive=false')).isProgressive, false, 'the alias works');
    assert.equal((await metadataOf(input, 'w=120&fm=pjpg&jpg-progressive=false')).isProgressive, true, 'pjpg always is');
  });

  it('chromasub: 420 by default, 444 kept, 422 served as 444', async () => {
    const input = await gradientJpeg();
    assert.equal((await metadataOf(input, 'w=120&fm=jpg')).chromaSubsampling, '4:2:0');
    assert.equal((await metadataOf(input, 'w=120&fm=jpg&chromasub=444')).chromaSubsampling, '4:4:4');
    assert.equal((await metadataOf(input, 'w=120&fm=jpg&chromasub=422')).chromaSubsampling, '4:4:4');
    assert.equal(parseParams('fm=png&chromasub=444').canonical, 'fm=png', 'no JPEG, no setting: one cache entry');
  });

  it('cs=srgb embeds an sRGB profile, cs=strip and an untagged source none, cs=tinysrgb a smaller one', async () => {
    const red = await solid(16, 16, [255, 0, 0]);
    assert.equal((await metadataOf(red, 'fm=jpg')).icc, undefined);
    assert.equal((await metadataOf(red, 'fm=jpg&cs=strip')).icc, undefined);
    const srgb = await metadataOf(red, 'fm=jpg&cs=srgb');
    assert.ok(srgb.icc && srgb.icc.toString('latin1', 16, 20) === 'RGB ', 'an RGB profile');
    const tiny = await metadataOf(red, 'fm=png&cs=tinysrgb');
    assert.ok(tiny.icc && tiny.icc.length < srgb.icc.length, `${tiny.icc?.length} < ${srgb.icc.length}`);
    assert.ok(tiny.icc.includes('sRGB tiny'));
    assert.deepEqual(await storedPixel((await renderQuery(red, 'fm=png&cs=tinysrgb')).body), [255, 0, 0]);
  });

  it('cs=adobergb1998 converts into Adobe RGB (1998) and embeds it', async () => {
    const red = await solid(16, 16, [255, 0, 0]);
    const { body } = await renderQuery(red, 'fm=png&cs=adobergb1998');
    const { icc } = await sharp(body).metadata();
    assert.ok(icc?.includes('Adobe RGB (1998)'));
    // sRGB's red lies inside Adobe RGB's gamut: its red channel is about 219 there, green and blue 0.
    const [r, g, b] = await storedPixel(body);
    assert.ok(r! > 205 && r! < 230 && g! < 10 && b! < 10, `${r},${g},${b}`);
    // Read with its profile, it is the same red again.
    assert.deepEqual([...(await sharp(body).toColourspace('srgb').raw().toBuffer()).subarray(0, 3)].map((v) => Math.round(v / 8)), [32, 0, 0]);
  });

  it('cs=origin (the default) keeps the source\'s RGB profile, also after a multi-pipeline render', async () => {
    const tagged = await sharp(await solid(32, 32, [200, 40, 40])).withIccProfile(profilePath(ADOBE_RGB_1998)).png().toBuffer();
    for (const query of ['w=16&fm=png', 'w=16&fm=jpg&rot=45&px=2']) {
      const { icc } = await metadataOf(tagged, query);
      assert.ok(icc?.includes('Adobe RGB (1998)'), query);
    }
    const stored = await storedPixel((await renderQuery(tagged, 'w=16&fm=png')).body);
    const source = await storedPixel(tagged);
    assert.ok(stored.every((v, i) => Math.abs(v - source[i]!) <= 2), `${stored} ≈ ${source}`);
  });

  it('dpi sets the density of JPEG and PNG files and nothing else of the EXIF', async () => {
    const input = await jpegWithIptc('caption');
    const jpeg = await metadataOf(input, 'fm=jpg&dpi=300');
    assert.equal(jpeg.density, 300);
    assert.ok(!jpeg.exif?.includes('Private Person'), 'the source EXIF is not copied');
    assert.equal((await metadataOf(input, 'fm=png&dpi=150')).density, 150);
    assert.equal((await metadataOf(input, 'fm=jpg&dpi=999999')).density, 65535, 'clamped to what JFIF holds');
    assert.equal(parseParams('fm=webp&dpi=300').canonical, 'fm=webp');
  });

  it('iptc=allow passes the IPTC block from JPEG to JPEG; blocked by default', async () => {
    const input = await jpegWithIptc('Hello IPTC');
    assert.equal((await metadataOf(input, 'w=32')).iptc, undefined);
    const allowed = await metadataOf(input, 'w=32&iptc=allow');
    assert.ok(allowed.iptc?.includes('Hello IPTC'));
    assert.equal(allowed.exif, undefined, 'IPTC only, not the EXIF');
    assert.equal((await metadataOf(input, 'w=32&fm=png&iptc=allow')).iptc, undefined);
  });

  it('fm=jp2 and fm=jxr are refused with a 400 that names the alternatives', () => {
    for (const fm of ['jp2', 'jxr']) {
      assert.throws(() => parseParams(`w=10&fm=${fm}`), (error: unknown) => {
        assert.ok(isPictorError(error) && error.status === 400);
        assert.match(error.message, /cannot be produced here; ask for fm=avif, fm=webp or fm=jpg/);
        return true;
      });
    }
  });

  it('the shipped ICC files are exactly what their definitions build', () => {
    for (const profile of [ADOBE_RGB_1998, TINY_SRGB]) {
      assert.ok(fs.readFileSync(profilePath(profile)).equals(buildProfile(profile)), `${profile.file}: run scripts/make-icc-profiles.ts`);
    }
  });
});

describe('params: Source defaults and client hints', () => {
  it('defaults apply unless the query gives the parameter (aliases too); ch and expires never', () => {
    const defaults = { w: '300', h: '200', fit: 'crop', ch: 'width', expires: '1', 'q': '50' };
    const parsed = parseParams('width=100&fm=jpg', { defaults });
    assert.equal(parsed.params.w, 100);
    assert.equal(parsed.params.h, 200);
    assert.equal(parsed.params.fit, 'crop');
    assert.equal(parsed.params.q, 50);
    assert.equal(parsed.hints, undefined);
    assert.equal(parsed.expires, undefined);
  });

  it('a bad default is reported as the Source\'s', () => {
    assert.throws(() => parseParams('w=10', { defaults: { h: 'tall' } }), /\(in the Source's default_params\)/);
  });

  it('Width replaces w (dpr then no longer applies), DPR replaces dpr, Save-Data lowers q to 45', () => {
    const hints = { width: 640, dpr: 3, saveData: true };
    assert.equal(parseParams('w=100&dpr=2&ch=width,dpr', { hints }).canonical, 'w=640');
    assert.equal(parseParams('w=100&dpr=2&ch=dpr', { hints }).canonical, 'dpr=3&w=100');
    assert.equal(parseParams('w=100&fm=webp&ch=save-data', { hints }).canonical, 'fm=webp&q=45&w=100');
    assert.equal(parseParams('w=100&fm=webp&q=30&ch=save-data', { hints }).canonical, 'fm=webp&q=30&w=100');
    assert.equal(parseParams('w=100', { hints }).canonical, 'w=100', 'without ch, no hint applies');
  });
});
