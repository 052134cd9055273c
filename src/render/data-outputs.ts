/**
 * Non-image outputs: fm=json (the input's metadata, with imgix's keys), fm=blurhash and palette=css|json.
 */
import { encode as encodeBlurhash } from 'blurhash';
import type { Metadata } from 'sharp';
import { describeInput } from './data/metadata-json.ts';
import { extractPalette } from './data/palette.ts';
import { paletteCss, paletteJson } from './data/palette-format.ts';
import { DEFAULT_COLORS, DEFAULT_PREFIX } from './palette-params.ts';
import type { RenderParams } from './render-params.ts';
import { contentTypeFor } from './detect.ts';
import type { PipelineBuilder } from './builder.ts';
import { STAGE } from './builder.ts';

export interface DataResult {
  body: Buffer;
  contentType: string;
  format: 'json' | 'blurhash' | 'css';
}

/** Largest side of the raw downscale the blurhash is computed from (cost is O(pixels × components)). */
const BLURHASH_SAMPLE = 32;
/** Largest side of the sample a palette is computed from: enough pixels for 1 % shares, few enough to stay cheap. */
const PALETTE_SAMPLE = 128;

/**
 * Describes the input as stored (PixelWidth/PixelHeight are not rotated; Orientation says how to display),
 * like imgix's fm=json, with its EXIF, GPS, IPTC, JFIF and PNG metadata (see data/metadata-json.ts).
 */
export function renderJson(input: Buffer, metadata: Metadata, sourceFormat: string): DataResult {
  const info = describeInput(input, metadata, sourceFormat);
  return { body: Buffer.from(JSON.stringify(info)), contentType: contentTypeFor('json'), format: 'json' };
}

/** The rendered image, downscaled to ≤32 px, hashed with 4×3 components (3×4 for portrait). */
export async function renderBlurhash(builder: PipelineBuilder): Promise<DataResult> {
  const scale = Math.min(1, BLURHASH_SAMPLE / Math.max(builder.width, builder.height));
  const width = Math.max(1, Math.round(builder.width * scale));
  const height = Math.max(1, Math.round(builder.height * scale));
  if (width !== builder.width || height !== builder.height) {
    await builder.add({ slots: ['resize'], from: STAGE.resize, geometric: true, apply: (image) => image.resize(width, height, { fit: 'fill' }) });
  }
  const { data, info } = await builder.finish((image) => image.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }));
  const pixels = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const [cx, cy] = info.width >= info.height ? [4, 3] : [3, 4];
  const hash = encodeBlurhash(pixels, info.width, info.height, cx, cy);
  return { body: Buffer.from(hash), contentType: contentTypeFor('blurhash'), format: 'blurhash' };
}

/**
 * imgix's palette=css|json of the rendered image. The sample is taken with nearest-neighbour resampling so
 * that it holds only colours that occur in the image (a smoothing kernel would invent edge blends).
 */
export async function renderPalette(builder: PipelineBuilder, params: RenderParams): Promise<DataResult> {
  const scale = Math.min(1, PALETTE_SAMPLE / Math.max(builder.width, builder.height));
  const width = Math.max(1, Math.round(builder.width * scale));
  const height = Math.max(1, Math.round(builder.height * scale));
  if (width !== builder.width || height !== builder.height) {
    await builder.add({ slots: ['resize'], from: STAGE.resize, geometric: true, apply: (image) => image.resize(width, height, { fit: 'fill', kernel: 'nearest' }) });
  }
  const { data } = await builder.finish((image) => image.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }));
  const palette = extractPalette(data, params.colors ?? DEFAULT_COLORS);
  if (params.palette === 'css') {
    return { body: Buffer.from(paletteCss(palette, params.prefix ?? DEFAULT_PREFIX)), contentType: contentTypeFor('css'), format: 'css' };
  }
  return { body: Buffer.from(paletteJson(palette)), contentType: contentTypeFor('json'), format: 'json' };
}
