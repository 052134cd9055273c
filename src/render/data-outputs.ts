/**
 * Non-image outputs: fm=json (the input's metadata, imgix/ImageIO-style keys) and fm=blurhash.
 */
import { encode as encodeBlurhash } from 'blurhash';
import type { Metadata } from 'sharp';
import { contentTypeFor } from './detect.ts';
import type { PipelineBuilder } from './builder.ts';
import { STAGE } from './builder.ts';

export interface DataResult {
  body: Buffer;
  contentType: string;
  format: 'json' | 'blurhash';
}

/** Largest side of the raw downscale the blurhash is computed from (cost is O(pixels × components)). */
const BLURHASH_SAMPLE = 32;

const COLOR_MODELS: Record<string, string> = { srgb: 'RGB', rgb: 'RGB', rgb16: 'RGB', 'b-w': 'Gray', grey16: 'Gray', cmyk: 'CMYK', lab: 'Lab' };
const BIT_DEPTHS: Record<string, number> = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, double: 64 };

/**
 * Describes the input as stored (PixelWidth/PixelHeight are not rotated; Orientation says how to display),
 * like imgix's fm=json. EXIF/TIFF sub-dictionaries are not reproduced.
 */
export function renderJson(input: Buffer, metadata: Metadata, sourceFormat: string): DataResult {
  const info: Record<string, unknown> = {
    'Content-Type': contentTypeFor(sourceFormat),
    'Content-Length': String(input.length),
    PixelWidth: metadata.width,
    PixelHeight: metadata.height,
    ColorModel: COLOR_MODELS[metadata.space] ?? String(metadata.space).toUpperCase(),
    Depth: BIT_DEPTHS[metadata.depth] ?? 8,
    HasAlpha: metadata.hasAlpha,
    Orientation: metadata.orientation ?? 1,
  };
  if (metadata.density !== undefined) {
    info.DPIWidth = metadata.density;
    info.DPIHeight = metadata.density;
  }
  if (metadata.pages !== undefined && metadata.pages > 1) info.Frames = metadata.pages;
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
