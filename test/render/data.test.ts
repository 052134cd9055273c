import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { isPictorError } from '../../src/errors.ts';
import { parseExif } from '../../src/render/data/exif.ts';
import { parseParams } from '../../src/render/params.ts';
import { rawGet, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { alphaPng, gradientJpeg, quadrantsPng, renderQuery } from './fixtures.ts';

type Color = { red: number; hex: string; blue: number; green: number };
interface PaletteDocument {
  colors: Color[];
  average_luminance: number;
  dominant_colors: Record<string, Color>;
}

/** Vertical stripes, left to right, each `[width, r, g, b]`, 100 px tall, as PNG (no lossy noise). */
function stripes(spec: readonly (readonly [number, number, number, number])[]): Promise<Buffer> {
  const width = spec.reduce((sum, [w]) => sum + w, 0);
  const height = 100;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    let x = 0;
    for (const [w, r, g, b] of spec) {
      for (let i = 0; i < w; i++, x++) data.set([r, g, b], (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

async function paletteOf(input: Buffer, query: string): Promise<PaletteDocument> {
  const result = await renderQuery(input, query);
  assert.equal(result.contentType, 'application/json');
  assert.equal(result.format, 'json');
  return JSON.parse(result.body.toString()) as PaletteDocument;
}

const hexes = (doc: PaletteDocument) => doc.colors.map((c) => c.hex);

function rejectsWith(code: string, pointer: string) {
  return (error: unknown) => {
    assert.ok(isPictorError(error), `a PictorError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.pointer, pointer);
    return true;
  };
}

describe('palette=json', () => {
  it('lists the colours of a two-colour image, and only those, even after a smoothing resize', async () => {
    const input = await stripes([[300, 255, 0, 0], [200, 0, 0, 255]]);
    assert.deepEqual(hexes(await paletteOf(input, 'palette=json')), ['#ff0000', '#0000ff'], 'most frequent first');
    // w=57 resamples with a smoothing kernel: the purple edge pixels must not become palette colours.
    assert.deepEqual(hexes(await paletteOf(input, 'palette=json&w=57')), ['#ff0000', '#0000ff']);
  });

  it('gives N colours that occur in the image, by frequency, as imgix fractions and hex', async () => {
    const spec = [
      [160, 255, 0, 0], [140, 0, 128, 0], [120, 0, 0, 255], [100, 255, 255, 0], [80, 0, 255, 255], [60, 128, 0, 128],
    ] as const;
    const input = await stripes(spec);
    const six = await paletteOf(input, 'palette=json');
    assert.deepEqual(hexes(six), ['#ff0000', '#008000', '#0000ff', '#ffff00', '#00ffff', '#800080']);
    assert.deepEqual(six.colors[1], { red: 0, hex: '#008000', blue: 0, green: 0.501961 });
    assert.deepEqual(Object.keys(six.colors[0]!), ['red', 'hex', 'blue', 'green']);
    assert.deepEqual(hexes(await paletteOf(input, 'palette=json&colors=3')), ['#ff0000', '#008000', '#0000ff']);
    assert.deepEqual(hexes(await paletteOf(input, 'palette=json&colors=0')), []);
    assert.ok(six.average_luminance > 0 && six.average_luminance < 1);
  });

  it('names Vibrant-style dominant colours, leaving out targets no colour fits', async () => {
    const doc = await paletteOf(await stripes([[100, 230, 20, 20], [100, 51, 51, 51], [100, 220, 230, 215]]), 'palette=json');
    assert.equal(doc.dominant_colors.vibrant?.hex, '#e61414');
    assert.equal(doc.dominant_colors.muted_dark?.hex, '#333333');
    assert.equal(doc.dominant_colors.muted_light?.hex, '#dce6d7');
    assert.equal(doc.dominant_colors.vibrant_dark, undefined, 'no dark saturated colour in the image');
    assert.deepEqual(Object.keys(doc.dominant_colors), ['vibrant', 'muted_light', 'muted_dark'], "imgix's key order");
  });

  it('is computed from the rendered image: rect, bg and transparency apply first', async () => {
    assert.deepEqual(hexes(await paletteOf(await quadrantsPng(), 'palette=json&rect=0,0,900,600')), ['#ff0000']);
    // Transparent pixels are not colours of the picture; with an opaque bg they are.
    assert.deepEqual(hexes(await paletteOf(await alphaPng(), 'palette=json')), ['#ff0000']);
    assert.deepEqual(hexes(await paletteOf(await alphaPng(), 'palette=json&bg=00ff00')), ['#00ff00', '#ff0000']);
  });

  it('answers a fully transparent image with an empty palette', async () => {
    const clear = await sharp({ create: { width: 50, height: 50, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    assert.deepEqual(await paletteOf(clear, 'palette=json'), { colors: [], average_luminance: 0, dominant_colors: {} });
  });

  it('bounds colors to imgix range 0–16 and refuses what is not a number', async () => {
    const doc = await paletteOf(await gradientJpeg(), 'palette=json&colors=99999999');
    // A smooth gradient is mostly blends of its own colours: fewer than asked, but more than the default 6.
    assert.ok(doc.colors.length > 10 && doc.colors.length <= 16, `${doc.colors.length} colours`);
    assert.equal(parseParams('palette=json&colors=99999999').canonical, 'colors=16&palette=json');
    assert.equal((await paletteOf(await gradientJpeg(), 'palette=json&colors=-4')).colors.length, 0);
    assert.throws(() => parseParams('palette=json&colors=many'), rejectsWith('INVALID_PARAMETER', 'colors'));
  });
});

describe('palette=css', () => {
  it('writes imgix classes with the prefix: fg/bg per colour, white and black, then the dominant ones', async () => {
    const input = await stripes([[300, 230, 20, 20], [200, 51, 51, 51]]);
    const result = await renderQuery(input, 'palette=css&prefix=frog');
    assert.equal(result.contentType, 'text/css');
    assert.equal(result.format, 'css');
    const lines = result.body.toString().trimEnd().split('\n');
    assert.deepEqual(lines, [
      '.frog-fg-1 { color:#e61414 !important; }',
      '.frog-bg-1 { background-color:#e61414 !important; }',
      '.frog-fg-2 { color:#333333 !important; }',
      '.frog-bg-2 { background-color:#333333 !important; }',
      // The first colour is dark-ish (luma below half): black comes first.
      '.frog-fg-ex-1 { color:#000000 !important; }',
      '.frog-bg-ex-1 { background-color:#000000 !important; }',
      '.frog-fg-ex-2 { color:#ffffff !important; }',
      '.frog-bg-ex-2 { background-color:#ffffff !important; }',
      '.frog-fg-vibrant { color:#e61414 !important; }',
      '.frog-bg-vibrant { background-color:#e61414 !important; }',
      '.frog-fg-muted-dark { color:#333333 !important; }',
      '.frog-bg-muted-dark { background-color:#333333 !important; }',
    ]);
  });

  it('has 2 × (colors + 2 + dominant) rules and the default prefix "image"', async () => {
    const css = (await renderQuery(await gradientJpeg(), 'palette=css&colors=5')).body.toString();
    const lines = css.trimEnd().split('\n');
    for (const line of lines) assert.match(line, /^\.image-(fg|bg)-[a-z0-9-]+ \{ (color|background-color):#[0-9a-f]{6} !important; \}$/);
    const numbered = lines.filter((line) => /-fg-\d+ /.test(line));
    assert.equal(numbered.length, 5);
    assert.equal(lines.length % 2, 0);
    assert.ok(lines.length >= 2 * (5 + 2));
  });

  it('refuses a prefix that is not a CSS class name (400), and ignores prefix for JSON', () => {
    for (const prefix of ['a}b', '1abc', 'x'.repeat(65), 'caf%C3%A9', 'a%20b', '%3C%2Fstyle%3E']) {
      assert.throws(() => parseParams(`palette=css&prefix=${prefix}`), rejectsWith('INVALID_PARAMETER', 'prefix'), prefix);
    }
    assert.equal(parseParams('palette=css&prefix=_my-Frog2').canonical, 'palette=css&prefix=_my-Frog2');
    assert.equal(parseParams('palette=json&prefix=a}b').canonical, 'palette=json');
  });
});

describe('palette: cache key', () => {
  it('drops defaults and the output-format parameters a palette does not depend on', () => {
    assert.equal(parseParams('palette=css&prefix=image&colors=6').canonical, 'palette=css');
    assert.equal(parseParams('palette=json&fm=webp&q=40&auto=format,compress&lossless=1&w=300').canonical, 'palette=json&w=300');
    // palette wins over fm=json: the palette depends on the render, so the geometry stays in the key.
    assert.equal(parseParams('palette=json&fm=json&w=300').canonical, 'palette=json&w=300');
    assert.equal(parseParams('colors=3&prefix=x&w=10').canonical, 'w=10', 'colors and prefix need palette');
  });
});

/** A JPEG with an APP13 (Photoshop IRB 0x0404) IPTC block spliced in after SOI. */
function withIptc(jpeg: Buffer, datasets: [number, string][]): Buffer {
  const iim = Buffer.concat(datasets.map(([dataset, text]) => {
    const value = Buffer.from(text, 'utf8');
    const head = Buffer.from([0x1c, 2, dataset, 0, 0]);
    head.writeUInt16BE(value.length, 3);
    return Buffer.concat([head, value]);
  }));
  const size = Buffer.alloc(4);
  size.writeUInt32BE(iim.length);
  const padding = Buffer.alloc(iim.length % 2);
  const payload = Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), Buffer.from('8BIM', 'latin1'), Buffer.from([0x04, 0x04, 0, 0]), size, iim, padding]);
  const segment = Buffer.from([0xff, 0xed, 0, 0]);
  segment.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), segment, payload, jpeg.subarray(2)]);
}

/** Inserts a PNG tEXt chunk right after IHDR (text after the image data is not read). */
function withPngText(png: Buffer, keyword: string, text: string): Buffer {
  const data = Buffer.from(`${keyword}\0${text}`, 'latin1');
  const body = Buffer.concat([Buffer.from('tEXt', 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  const afterHeader = 8 + 25; // signature, then IHDR: length, type, 13 bytes, CRC
  return Buffer.concat([png.subarray(0, afterHeader), length, body, crc, png.subarray(afterHeader)]);
}

describe('fm=json', () => {
  it('reports the TIFF, Exif and GPS dictionaries, the profile name and JFIF of a JPEG', async () => {
    const input = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#369' } })
      .withExif({
        IFD0: { Make: 'Pictor Optics', Model: 'Test Camera', Copyright: 'CC0' },
        IFD2: { ExposureTime: '1/125', FNumber: '28/10', ISOSpeedRatings: '200', DateTimeOriginal: '2024:05:06 07:08:09', UserComment: 'hello' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100', GPSAltitude: '35/1' },
      })
      .withIccProfile('srgb')
      .jpeg({ progressive: true })
      .toBuffer();
    const result = await renderQuery(input, 'fm=json');
    assert.equal(result.contentType, 'application/json');
    const json = JSON.parse(result.body.toString());
    assert.equal(json.PixelWidth, 64);
    assert.equal(json.PixelHeight, 48);
    assert.equal(json.ColorModel, 'RGB');
    assert.equal(json.Depth, 8);
    assert.equal(json.Orientation, 1);
    assert.equal(json.HasAlpha, false);
    assert.deepEqual(json.Output, {});
    assert.match(json.ProfileName, /sRGB/);
    assert.equal(json.TIFF.Make, 'Pictor Optics');
    assert.equal(json.TIFF.Model, 'Test Camera');
    assert.equal(json.TIFF.Copyright, 'CC0');
    assert.equal(json.Exif.ExposureTime, 0.008);
    assert.equal(json.Exif.FNumber, 2.8);
    assert.equal(json.Exif.ISOSpeedRatings, 200);
    assert.equal(json.Exif.DateTimeOriginal, '2024:05:06 07:08:09');
    assert.equal(json.Exif.UserComment, 'hello');
    assert.match(json.Exif.ExifVersion, /^02\d\d$/);
    assert.equal(json.GPS.GPSLatitudeRef, 'N');
    assert.deepEqual(json.GPS.GPSLatitude, [48, 51, 24]);
    assert.equal(json.GPS.GPSAltitude, 35);
    assert.deepEqual(json.JFIF, { IsProgressive: true }, 'no APP0 segment in this file');
  });

  it('reads the JFIF header (version, density) when the JPEG has one', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const app0 = Buffer.from([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 1, 0, 96, 0, 120, 0, 0]);
    const json = JSON.parse((await renderQuery(Buffer.concat([jpeg.subarray(0, 2), app0, jpeg.subarray(2)]), 'fm=json')).body.toString());
    assert.deepEqual(json.JFIF, { JFIFVersion: [1, 2], DensityUnit: 1, XDensity: 96, YDensity: 120, IsProgressive: false });
  });

  it('reports IPTC fields, keywords as a list', async () => {
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888' } }).jpeg().toBuffer();
    const input = withIptc(jpeg, [[5, 'Sunset'], [25, 'beach'], [25, 'évening'], [80, 'Jane Doe'], [116, '© Pictor']]);
    const json = JSON.parse((await renderQuery(input, 'fm=json')).body.toString());
    assert.deepEqual(json.IPTC, { ObjectName: 'Sunset', Keywords: ['beach', 'évening'], Byline: ['Jane Doe'], CopyrightNotice: '© Pictor' });
  });

  it('reports the PNG dictionary: interlace, pixels per metre and text chunks', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 4, background: '#f008' } }).withMetadata({ density: 144 }).png().toBuffer();
    const input = withPngText(withPngText(png, 'Title', 'A red square'), 'Creation Time', '2024-05-06');
    const json = JSON.parse((await renderQuery(input, 'fm=json')).body.toString());
    assert.equal(json['Content-Type'], 'image/png');
    assert.equal(json.HasAlpha, true);
    assert.equal(json.DPIWidth, 144);
    assert.deepEqual(json.PNG, { InterlaceType: 0, XPixelsPerMeter: 5669, YPixelsPerMeter: 5669, Title: 'A red square', CreationTime: '2024-05-06' });
    assert.equal(json.JFIF, undefined);
    assert.equal(json.Exif.PixelXDimension, 10, 'a PNG eXIf chunk is read too');
  });

  it('leaves out what the input does not carry', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const json = JSON.parse((await renderQuery(jpeg, 'fm=json')).body.toString());
    for (const key of ['TIFF', 'Exif', 'GPS', 'IPTC', 'PNG', 'ProfileName']) assert.equal(json[key], undefined, key);
    assert.equal(json.JFIF.IsProgressive, false);
  });
});

describe('EXIF reader on hostile blocks', () => {
  /** A little-endian TIFF block: header, then IFDs written by `build` at the offsets it chooses. */
  function tiff(size: number, build: (b: Buffer) => void): Buffer {
    const b = Buffer.alloc(size);
    b.write('II', 0, 'latin1');
    b.writeUInt16LE(42, 2);
    b.writeUInt32LE(8, 4);
    build(b);
    return b;
  }
  function entry(b: Buffer, at: number, tag: number, type: number, count: number, value: number): void {
    b.writeUInt16LE(tag, at);
    b.writeUInt16LE(type, at + 2);
    b.writeUInt32LE(count, at + 4);
    b.writeUInt32LE(value, at + 8);
  }

  it('survives loops, absurd counts and offsets past the end, keeping the sane entries', () => {
    const block = tiff(200, (b) => {
      b.writeUInt16LE(65535, 8); // claims 65535 entries; only a few fit
      entry(b, 10, 0x0112, 3, 1, 6); // Orientation 6
      entry(b, 22, 0x010f, 2, 0xffffffff, 100); // Make: absurd length
      entry(b, 34, 0x0110, 2, 10, 0x7fffffff); // Model: offset past the end
      entry(b, 46, 0x8769, 4, 1, 8); // Exif IFD pointer back to IFD0: a loop
      entry(b, 58, 0x8825, 4, 1, 1 << 30); // GPS IFD far past the end
      entry(b, 70, 0x011a, 5, 1, 190); // XResolution → rational at 190
      b.writeUInt32LE(72, 190);
      b.writeUInt32LE(0, 194); // zero denominator
    });
    assert.deepEqual(parseExif(block), { TIFF: { Orientation: 6, XResolution: 0 } });
  });

  it('ignores blocks that are not TIFF, and reads the Exif\\0\\0 prefix and big-endian files', () => {
    assert.deepEqual(parseExif(Buffer.from('not exif at all')), {});
    assert.deepEqual(parseExif(Buffer.alloc(0)), {});
    const big = Buffer.alloc(32);
    big.write('MM', 0, 'latin1');
    big.writeUInt16BE(42, 2);
    big.writeUInt32BE(8, 4);
    big.writeUInt16BE(1, 8);
    big.writeUInt16BE(0x0112, 10);
    big.writeUInt16BE(3, 12);
    big.writeUInt32BE(1, 14);
    big.writeUInt16BE(8, 18);
    assert.deepEqual(parseExif(Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), big])), { TIFF: { Orientation: 8 } });
  });
});

describe('palette and fm=json over HTTP', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: {
        'flag.png': await stripes([[100, 255, 0, 0], [100, 255, 255, 255]]),
        // Vector inputs render in the separate render process: the palette must work there too.
        'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="150" height="100" fill="#1e90ff"/><rect x="150" width="50" height="100" fill="#ffd700"/></svg>',
      },
    });
  });
  after(() => t.stop());

  it('serves text/css and application/json, and 400 for a bad prefix', async () => {
    const css = await rawGet(t.renderPort, '/flag.png?palette=css&prefix=flag');
    assert.equal(css.status, 200);
    assert.equal(css.headers['content-type'], 'text/css');
    assert.match(css.body.toString(), /^\.flag-fg-1 \{ color:#ff0000 !important; \}$/m);
    const json = await rawGet(t.renderPort, '/flag.png?palette=json&colors=1');
    assert.equal(json.status, 200);
    assert.equal(json.headers['content-type'], 'application/json');
    assert.equal(JSON.parse(json.body.toString()).colors.length, 1);
    const bad = await rawGet(t.renderPort, '/flag.png?palette=css&prefix=%7Bx');
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /prefix must be a CSS class name/);
  });

  it('computes the palette of a vector input in the render process', async () => {
    const response = await rawGet(t.renderPort, '/logo.svg?palette=json&w=400');
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body.toString()).colors.map((c: { hex: string }) => c.hex), ['#1e90ff', '#ffd700']);
  });
});
