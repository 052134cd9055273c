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
/** Linear light is looked up in this many steps: fine enough that the darkest sRGB levels survive a round trip. */
const LINEAR_STEPS = 65535;
const TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => srgbDecode(v / 255));
const TO_BYTE = Uint8Array.from({ length: LINEAR_STEPS + 1 }, (_, i) => toByte(srgbEncode(i / LINEAR_STEPS) * 255));

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/**
 * shad lifts the shadows, high darkens the highlights, vib saturates dull colours more than vivid ones.
 * The tone curves act on the pixel's luminance alone: `x + s·x(1−x)⁴` peaks around 20 % grey and
 * `x − h·x⁴(1−x)` around 80 % (x the sRGB-encoded luminance, so a grey pixel moves by exactly the curve),
 * and the pixel's linear-light RGB is scaled by the luminance ratio. Scaling linear RGB keeps the colour's
 * chromaticity, hence its hue; a curve per channel would move the channels apart and turn the hue.
 * Black and white stay put; both curves stay monotonic over the allowed ranges.
 */
export function toneCurves(image: RawImage, params: { high?: number; shad?: number; vib?: number }): void {
  const shadows = ((params.shad ?? 0) / 100) * TONE_GAIN;
  const highlights = ((params.high ?? 0) / 100) * TONE_GAIN;
  const gain = shadows !== 0 || highlights !== 0 ? luminanceGain((x) => x + shadows * x * (1 - x) ** 4 + highlights * x ** 4 * (1 - x)) : undefined;
  const vibrance = (params.vib ?? 0) / 100;
  const { data, channels } = image;
  for (let i = 0; i < data.length; i += channels) {
    if (gain) scaleLuminance(data, i, gain);
    if (vibrance !== 0) vibrancePixel(data, i, vibrance);
  }
}

/** For each linear luminance (in LINEAR_STEPS steps), the factor that moves it along `curve` (on sRGB-encoded values). */
function luminanceGain(curve: (x: number) => number): Float32Array {
  const gain = new Float32Array(LINEAR_STEPS + 1);
  for (let i = 0; i <= LINEAR_STEPS; i++) {
    const y = i / LINEAR_STEPS;
    gain[i] = y > 0 ? srgbDecode(Math.min(1, Math.max(0, curve(srgbEncode(y))))) / y : 1;
  }
  return gain;
}

/**
 * Scales the pixel at `i` in linear light by its luminance's gain. A lifted colour that would leave the gamut
 * is pulled towards the grey of its new luminance instead of being clipped per channel, which would turn it.
 */
function scaleLuminance(data: Buffer, i: number, gain: Float32Array): void {
  const r = TO_LINEAR[data[i]!]!;
  const g = TO_LINEAR[data[i + 1]!]!;
  const b = TO_LINEAR[data[i + 2]!]!;
  const y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
  const k = gain[Math.round(y * LINEAR_STEPS)]!;
  const target = y * k;
  const peak = Math.max(r, g, b) * k;
  const fit = peak > 1 ? (1 - target) / (peak - target) : 1;
  data[i] = linearToByte(target + (r * k - target) * fit);
  data[i + 1] = linearToByte(target + (g * k - target) * fit);
  data[i + 2] = linearToByte(target + (b * k - target) * fit);
}

/** Saturation here is the spread of the channels (0 grey … 1 fully saturated); dull colours get the most. */
function vibrancePixel(data: Buffer, i: number, vibrance: number): void {
  const r = data[i]!;
  const g = data[i + 1]!;
  const b = data[i + 2]!;
  const saturation = (Math.max(r, g, b) - Math.min(r, g, b)) / 255;
  const factor = 1 + vibrance * (1 - saturation) ** 2;
  const l = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
  data[i] = toByte(l + (r - l) * factor);
  data[i + 1] = toByte(l + (g - l) * factor);
  data[i + 2] = toByte(l + (b - l) * factor);
}

function srgbDecode(v: number): number {
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function srgbEncode(y: number): number {
  return y <= 0.0031308 ? y * 12.92 : 1.055 * y ** (1 / 2.4) - 0.055;
}

function linearToByte(y: number): number {
  return TO_BYTE[Math.round(Math.min(1, Math.max(0, y)) * LINEAR_STEPS)]!;
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
