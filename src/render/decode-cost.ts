/**
 * What decoding an image costs in memory, from its header alone (see cost.ts): the source of a render and
 * each of its sub-images (mark, blend, image mask) alike.
 *
 * Decoders that stream (baseline JPEG, non-interlaced PNG, TIFF, WebP with shrink-on-load) hold a few rows;
 * those that need the whole image first (progressive JPEG coefficients, interlaced PNG, GIF, AVIF/HEIF)
 * several bytes per pixel. Either way a 16-bit image holds twice the bytes of an 8-bit one: libvips keeps
 * its samples at their own depth until they are cast for the encoder or a raw copy.
 */

export interface DecodeInfo {
  /** sharp's format name: jpeg, png, webp, gif, tiff, avif, heif, svg… */
  format: string;
  width: number;
  height: number;
  /** Progressive JPEG or interlaced PNG. */
  progressive: boolean;
  /** Bands (3 for RGB, 4 for RGBA); unknown counts as 4. */
  channels?: number;
  /** Bytes per sample (2 for a 16-bit PNG); unknown counts as 1. */
  sampleBytes?: number;
}

/** Per pixel of an 8-bit image, measured on sharp 0.35 with one libvips thread. */
export const DECODE_BYTES_PER_PIXEL: Record<string, number> = {
  jpeg: 0.1,
  png: 0.5,
  webp: 1,
  tiff: 0.5,
  gif: 4,
  avif: 20,
  heif: 20,
  svg: 4,
  // pdf.js draws on an RGBA canvas, which is read back (a copy) and packed to RGB for sharp: per raster pixel.
  pdf: 14,
};
/** Progressive JPEG keeps every DCT coefficient. */
const PROGRESSIVE_JPEG_BYTES_PER_PIXEL = 3.5;
/** An input format not listed above: assume it is decoded whole, as RGBA. */
export const UNKNOWN_DECODE_BYTES_PER_PIXEL = 4;

const SAMPLE_BYTES: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, double: 8, complex: 8, dpcomplex: 16 };

/** Bytes per sample of sharp's `depth` (an unknown depth counts as float). */
export function sampleBytesOf(depth: string | undefined): number {
  return SAMPLE_BYTES[depth ?? 'uchar'] ?? 4;
}

/** Bytes per pixel of decoding `info` (a whole-image decoder holds every sample of it). */
export function decodeRate(info: DecodeInfo): number {
  const sampleBytes = info.sampleBytes ?? 1;
  if (info.progressive) {
    // An interlaced PNG is decoded whole, every band at its depth.
    const whole = (info.channels ?? 4) * sampleBytes;
    return info.format === 'jpeg' ? PROGRESSIVE_JPEG_BYTES_PER_PIXEL : Math.max(PROGRESSIVE_JPEG_BYTES_PER_PIXEL, whole);
  }
  return (DECODE_BYTES_PER_PIXEL[info.format] ?? UNKNOWN_DECODE_BYTES_PER_PIXEL) * sampleBytes;
}

/** Bytes of decoding all of `info`. */
export function decodeBytes(info: DecodeInfo): number {
  return info.width * info.height * decodeRate(info);
}
