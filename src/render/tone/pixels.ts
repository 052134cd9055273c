/**
 * Per-pixel tone operations for which sharp has no operation, on raw 8-bit sRGB pixels (3 or 4 bands, alpha
 * left alone), rewritten in place. Each is one pass over the image; none allocates per pixel.
 *
 * imgix documents what each parameter does, not its formula; the curves below follow the usual photo-editor
 * definitions and are not calibrated against imgix's output (UNCONFIRMED), so every strength is one constant.
 */
import type { Rgba } from '../colors.ts';

/** Rec. 709 luma weights, as in the stylize step. */
const LUMA = [0.2126, 0.7152, 0.0722] as const;
/** shad=100 / high=-100 move the tones around 20 % / 80 % grey by this fraction of the full range, about a quarter. */
const TONE_GAIN = 3;
/** Halftone cells are this many pixels at htn=1, plus HALFTONE_CELL_RANGE at htn=100. */
const HALFTONE_CELL_MIN = 2;
const HALFTONE_CELL_RANGE = 14;
/** The dot screen is turned by 45°, as print screens for black usually are. */
const HALFTONE_ANGLE = Math.PI / 4;

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/**
 * shad lifts the shadows, high darkens the highlights, vib saturates dull colours more than vivid ones.
 * The tone curves are per channel: `x + s·x(1−x)⁴` peaks around 20 % grey and `x − h·x⁴(1−x)` around 80 %,
 * so mid-tones move less and black and white stay put; both stay monotonic over the allowed ranges.
 */
export function toneCurves(image: RawImage, params: { high?: number; shad?: number; vib?: number }): void {
  const shadows = ((params.shad ?? 0) / 100) * TONE_GAIN;
  const highlights = ((params.high ?? 0) / 100) * TONE_GAIN;
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const x = v / 255;
    const y = x + shadows * x * (1 - x) ** 4 + highlights * x ** 4 * (1 - x);
    lut[v] = toByte(y * 255);
  }
  const vibrance = (params.vib ?? 0) / 100;
  const { data, channels } = image;
  for (let i = 0; i < data.length; i += channels) {
    let r = lut[data[i]!]!;
    let g = lut[data[i + 1]!]!;
    let b = lut[data[i + 2]!]!;
    if (vibrance !== 0) {
      // Saturation here is the spread of the channels (0 grey … 1 fully saturated); dull colours get the most.
      const saturation = (Math.max(r, g, b) - Math.min(r, g, b)) / 255;
      const factor = 1 + vibrance * (1 - saturation) ** 2;
      const l = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
      r = toByte(l + (r - l) * factor);
      g = toByte(l + (g - l) * factor);
      b = toByte(l + (b - l) * factor);
    }
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
}

/** Luminance 0 → `shadows`, 1 → `highlights`, linear between; mixed over the original by `alpha` (0–1). */
export function duotone(image: RawImage, shadows: Rgba, highlights: Rgba, alpha: number): void {
  const { data, channels } = image;
  const from = [shadows.r, shadows.g, shadows.b];
  const span = [highlights.r - shadows.r, highlights.g - shadows.g, highlights.b - shadows.b];
  for (let i = 0; i < data.length; i += channels) {
    const l = (LUMA[0] * data[i]! + LUMA[1] * data[i + 1]! + LUMA[2] * data[i + 2]!) / 255;
    for (let c = 0; c < 3; c++) {
      const tone = from[c]! + span[c]! * l;
      data[i + c] = toByte(data[i + c]! + (tone - data[i + c]!) * alpha);
    }
  }
}

/**
 * A black-and-white dot screen: each pixel is white where its luminance exceeds the screen's threshold at
 * that point, else black, so dark areas get large black dots and light ones small ones.
 */
export function halftone(image: RawImage, strength: number): void {
  const { data, width, height, channels } = image;
  const cell = HALFTONE_CELL_MIN + (HALFTONE_CELL_RANGE * strength) / 100;
  const k = (2 * Math.PI) / cell;
  const cos = Math.cos(HALFTONE_ANGLE);
  const sin = Math.sin(HALFTONE_ANGLE);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const u = (x * cos + y * sin) * k;
      const v = (y * cos - x * sin) * k;
      // 0 at the centre of a dot … 1 between dots.
      const threshold = 0.5 - (Math.cos(u) + Math.cos(v)) / 4;
      const l = (LUMA[0] * data[i]! + LUMA[1] * data[i + 1]! + LUMA[2] * data[i + 2]!) / 255;
      const value = l > threshold ? 255 : 0;
      data[i] = value;
      data[i + 1] = value;
      data[i + 2] = value;
    }
  }
}

/**
 * Detail against a blurred copy `blurred` (same size and bands), with `d = x − blur(x)`:
 * differences below `threshold` (0–255) are treated as noise and pulled towards the blur (the smaller, the
 * more), larger ones as edges, which get `amount`·d added (an unsharp mask; negative amounts soften).
 * threshold 0 is a plain unsharp mask; amount 0 with a threshold is pure noise reduction.
 */
export function detail(image: RawImage, blurred: Buffer, threshold: number, amount: number): void {
  const { data, channels } = image;
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < 3; c++) {
      const base = blurred[i + c]!;
      const d = data[i + c]! - base;
      const edge = threshold > 0 ? Math.min(1, Math.abs(d) / threshold) : 1;
      data[i + c] = toByte(base + d * edge * (1 + amount * edge));
    }
  }
}

function toByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}
