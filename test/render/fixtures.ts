/**
 * Test images generated with sharp at test time (no binaries in the repository), plus small helpers.
 */
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { parseParams } from '../../src/render/params.ts';
import { render, type RenderOptions, type RenderResult } from '../../src/render/pipeline.ts';

export const RED = [255, 0, 0] as const;
export const GREEN = [0, 255, 0] as const;
export const BLUE = [0, 0, 255] as const;
export const YELLOW = [255, 255, 0] as const;

const cache = new Map<string, Promise<Buffer>>();
function once(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

/** 2000×1333 JPEG with a horizontal gradient (black → white, so pixel columns are distinguishable). */
export function gradientJpeg(): Promise<Buffer> {
  return once('gradient', () => {
    const width = 2000;
    const height = 1333;
    const data = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        const v = Math.round((x / (width - 1)) * 255);
        data[i] = v;
        data[i + 1] = Math.round((y / (height - 1)) * 255);
        data[i + 2] = 255 - v;
      }
    }
    return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  });
}

/** 2000×1333 with four solid quadrants: red (top-left), green (top-right), blue (bottom-left), yellow. */
export function quadrantsPng(): Promise<Buffer> {
  return once('quadrants', () => {
    const width = 2000;
    const height = 1333;
    const half = { width: width / 2, height: Math.ceil(height / 2) };
    const tile = (color: readonly number[]) =>
      sharp({ create: { ...half, channels: 3, background: { r: color[0]!, g: color[1]!, b: color[2]! } } }).png().toBuffer();
    return Promise.all([tile(RED), tile(GREEN), tile(BLUE), tile(YELLOW)]).then(([tl, tr, bl, br]) =>
      sharp({ create: { width, height, channels: 3, background: '#000' } })
        .composite([
          { input: tl!, left: 0, top: 0 },
          { input: tr!, left: half.width, top: 0 },
          { input: bl!, left: 0, top: height - half.height },
          { input: br!, left: half.width, top: height - half.height },
        ])
        .png()
        .toBuffer(),
    );
  });
}

/** 300×200 PNG: fully transparent, except an opaque red 100×100 square in the middle. */
export function alphaPng(): Promise<Buffer> {
  return once('alpha', async () => {
    const square = await sharp({ create: { width: 100, height: 100, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } }).png().toBuffer();
    return sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: square, left: 100, top: 50 }])
      .png()
      .toBuffer();
  });
}

/** Solid-colour JPEG/PNG of any size. */
export function solid(width: number, height: number, color: readonly number[], format: 'jpeg' | 'png' = 'png'): Promise<Buffer> {
  return once(`solid-${width}-${height}-${color.join(',')}-${format}`, () =>
    sharp({ create: { width, height, channels: 3, background: { r: color[0]!, g: color[1]!, b: color[2]! } } })
      .toFormat(format)
      .toBuffer(),
  );
}

/** 400×300 pixels stored landscape, with EXIF Orientation 6 (display: rotate 90° clockwise → portrait). */
export function exifRotatedJpeg(): Promise<Buffer> {
  return once('exif6', () =>
    sharp({ create: { width: 400, height: 300, channels: 3, background: '#888' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  );
}

/** A PNG header claiming 20000×20000 pixels with a few bytes of data: cheap, and undecodable. */
export function hugeHeaderPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(20000, 0);
  header.writeUInt32BE(20000, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(16))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const OPTIONS: RenderOptions = { acceptClass: '', maxInputPixels: 50_000_000, timeoutSeconds: 30 };

/** Parses `query` like the HTTP layer would and renders `input`. */
export function renderQuery(input: Buffer, query: string, options: Partial<RenderOptions> = {}): Promise<RenderResult> {
  return render(input, parseParams(query).params, { ...OPTIONS, ...options });
}

export interface Pixels {
  width: number;
  height: number;
  channels: number;
  at(x: number, y: number): number[];
}

export async function pixels(encoded: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: info.channels,
    at: (x, y) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x + 1) * info.channels)],
  };
}

/** Every channel within `tolerance` (JPEG is lossy). */
export function near(actual: readonly number[], expected: readonly number[], tolerance = 12): boolean {
  return expected.every((v, i) => Math.abs((actual[i] ?? NaN) - v) <= tolerance);
}

export async function sizeOf(encoded: Buffer): Promise<[number, number]> {
  const meta = await sharp(encoded).metadata();
  return [meta.autoOrient.width, meta.autoOrient.height];
}

/** 195 bytes that declare 9990×9990 px and ask the rasteriser for a large blur over all of them. */
export const FILTER_BOMB_SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="9990" height="9990"><filter id="f"><feGaussianBlur stdDeviation="40"/></filter>' +
    '<rect width="100%" height="100%" fill="red" filter="url(#f)"/></svg>',
);
