/**
 * One line of text → a one-band ink mask that fits its box, with imgix's rules: a text wider than the box
 * loses whole characters (graphemes) at the `txt-clip` position, optionally marked by an ellipsis, or with
 * `txt-fit=max` is drawn smaller instead.
 *
 * Text is laid out by sharp (Pango + HarfBuzz, so Arabic and Hebrew are shaped and run right to left) as
 * escaped markup: the text can never inject markup. libvips crops the result to the ink. Widths are first
 * measured at a small size, where even the longest allowed text stays far inside what the rasteriser accepts
 * (about 32k pixels a side), and scaled up; the final drawing is checked against the box and cut to it.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { isPictorError, PictorError } from '../../errors.ts';
import type { Size } from '../geometry.ts';
import { FAMILY } from './fonts.ts';
import type { FontFamily, TextFont } from './font-names.ts';

export interface TextStyle {
  font: TextFont;
  /** Pixels. */
  size: number;
  /** Letter spacing in pixels. */
  track: number;
}

export interface Mask {
  /** One byte of ink coverage per pixel. */
  data: Buffer;
  width: number;
  height: number;
}

export type ClipPosition = 'start' | 'middle' | 'end';
export type Exec = (image: Sharp) => Promise<{ data: Buffer; info: OutputInfo }>;

export interface TextBox {
  width: number;
  height: number;
  /** The tallest mask drawn: taller ink (stacked combining marks) is drawn smaller. */
  maxHeight: number;
}

const FAMILIES: Readonly<Record<FontFamily, string>> = {
  'sans-serif': FAMILY.sans,
  serif: FAMILY.serif,
  monospace: FAMILY.mono,
  DejaVuSans: FAMILY.wideSans,
};

/** Measuring size: small enough that any allowed text stays inside the rasteriser's limits. */
const MEASURE_SIZE = 24;
/** Widest measuring raster, leaving headroom under the rasteriser's 32767 px. */
const MEASURE_WIDTH = 16000;
const ELLIPSIS = '\u2026';
/** How much larger than its scaled measurement a final drawing may come out (hinting, rounding). */
const DRAWING_SLACK = 1.1;
/** Final drawings that still overflow lose one more character, at most this many times, then are cut. */
const RETRIES = 3;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The mask of `text` in `style`, fitted to `box`; undefined when nothing visible remains (blank or
 * zero-width text, everything clipped, a size below one pixel).
 */
export async function layoutText(
  text: string,
  style: TextStyle,
  box: TextBox,
  clip: { position: ClipPosition; ellipsis: boolean } | 'fit',
  exec: Exec,
): Promise<Mask | undefined> {
  const full = await inkSize(text, style, exec);
  if (!full) return undefined;
  // Ink far taller than the font (stacked combining marks) is drawn smaller, never as a huge raster.
  let run = scaled(style, box.maxHeight / full.height);
  const k = run.size / style.size;
  const parts = [...graphemes.segment(text)].map((part) => part.segment);
  let kept = parts.length;
  if (clip === 'fit') run = scaled(run, Math.min(box.width / (full.width * k), box.height / (full.height * k)));
  else if (full.width * k > box.width) kept = await fittingCount(parts, run, box.width, clip, exec);
  if (run.size < 1) return undefined;

  // The measurement was scaled: the final drawing may still be a little wide. Drop characters, then cut.
  for (let attempt = 0; ; attempt++) {
    const line = clip === 'fit' ? text : clipped(parts, kept, clip);
    if (line === '') return undefined;
    const mask = await drawMask(line, run, exec);
    if (!mask) return undefined;
    if (mask.width <= box.width) return mask;
    if (clip === 'fit' || attempt === RETRIES || kept === 0) return cropMask(mask, box.width);
    kept--;
  }
}

/**
 * The largest mask `layoutText` can draw for these arguments, from one measurement at a small size: the
 * ink scaled as layoutText scales it, with room for the final drawing coming out a little larger than its
 * scaled measurement (never wider than the box: wider drawings are cut, `cut` tells that they may be).
 * Undefined when nothing is drawn.
 */
export async function maskBound(
  text: string,
  style: TextStyle,
  box: TextBox,
  clip: { position: ClipPosition; ellipsis: boolean } | 'fit',
  exec: Exec,
): Promise<(Size & { cut: boolean }) | undefined> {
  const full = await inkSize(text, style, exec);
  if (!full) return undefined;
  let run = scaled(style, box.maxHeight / full.height);
  const k = run.size / style.size;
  let ink = { width: full.width * k, height: full.height * k };
  if (clip === 'fit') {
    run = scaled(run, Math.min(box.width / ink.width, box.height / ink.height));
    ink = { width: full.width * (run.size / style.size), height: full.height * (run.size / style.size) };
  } else if (ink.width > box.width) {
    const parts = [...graphemes.segment(text)].map((part) => part.segment);
    const kept = clipped(parts, await fittingCount(parts, run, box.width, clip, exec), clip);
    ink = (kept === '' ? undefined : await inkSize(kept, run, exec)) ?? { width: 0, height: 0 };
  }
  if (run.size < 1 || ink.width === 0) return undefined;
  const grown = (side: number) => Math.ceil(side * DRAWING_SLACK) + 2;
  return { width: Math.min(box.width, grown(ink.width)), height: grown(ink.height), cut: grown(ink.width) > box.width };
}

/**
 * Measurements already made, by the markup drawn: a render measures its text for its cost estimate and again to
 * draw it, and a fit or a clip measures many cuts of it; the same text at the same style measures the same
 * with the same fonts (bundled, loaded once per process). Bounded, oldest first out.
 */
const measured = new Map<string, Size | undefined>();
const MEASURED_MAX = 512;

/** The ink size of `text` at `style.size`, measured at a small size and scaled (exact up to MEASURE_SIZE). */
export async function inkSize(text: string, style: TextStyle, exec: Exec): Promise<Size | undefined> {
  const key = `${FAMILIES[style.font.family]}\n${markup(text, style)}`;
  if (measured.has(key)) return measured.get(key);
  const size = await measureInk(text, style, exec);
  if (measured.size >= MEASURED_MAX) measured.delete(measured.keys().next().value!);
  measured.set(key, size);
  return size;
}

async function measureInk(text: string, style: TextStyle, exec: Exec): Promise<Size | undefined> {
  const count = [...graphemes.segment(text)].length;
  // A generous bound of the measured width: 1.5 em per character plus the spacing.
  const perChar = 1.5 * style.size + Math.abs(style.track);
  const k = Math.min(1, MEASURE_SIZE / style.size, MEASURE_WIDTH / (count * perChar));
  const mask = await drawMask(text, scaled(style, k), exec, true);
  if (!mask) return undefined;
  return { width: Math.ceil(mask.width / k), height: Math.ceil(mask.height / k) };
}

/** How many graphemes (an ellipsis included, if asked for) fit into `width` pixels: a binary search. */
async function fittingCount(parts: string[], style: TextStyle, width: number, clip: { position: ClipPosition; ellipsis: boolean }, exec: Exec): Promise<number> {
  let low = 0; // fits
  let high = parts.length; // does not fit
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    const size = await inkSize(clipped(parts, mid, clip), style, exec);
    if (!size || size.width <= width) low = mid;
    else high = mid;
  }
  return low;
}

/** `count` graphemes of `parts`, cut at the clip position, with an ellipsis where the cut is. */
function clipped(parts: string[], count: number, clip: { position: ClipPosition; ellipsis: boolean }): string {
  const mark = clip.ellipsis ? ELLIPSIS : '';
  if (count >= parts.length) return parts.join('');
  switch (clip.position) {
    case 'start':
      return mark + parts.slice(parts.length - count).join('');
    case 'middle': {
      const head = Math.ceil(count / 2);
      return parts.slice(0, head).join('') + mark + parts.slice(parts.length - (count - head)).join('');
    }
    default:
      return parts.slice(0, count).join('') + mark;
  }
}

/** Draws `text` into a one-band ink mask; undefined when it has no ink. */
async function drawMask(text: string, style: TextStyle, exec: Exec, measuring = false): Promise<Mask | undefined> {
  const image = sharp({ text: { text: markup(text, style), dpi: 72, font: `${FAMILIES[style.font.family]} 12` } });
  try {
    const { data, info } = await exec(image.toColourspace('b-w').raw({ depth: 'uchar' }));
    if (info.channels !== 1) throw new Error(`drawMask: expected 1 band, got ${info.channels}`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    const message = String((isPictorError(error) && error.cause instanceof Error ? error.cause : error as Error)?.message ?? error);
    if (/no text to render/i.test(message)) return undefined;
    if (isPictorError(error) && error.code === 'RENDER_TIMEOUT') throw error;
    throw new PictorError('INVALID_PARAMETER', `txt could not be drawn${measuring ? '' : ' at this size'}: ${message.split('\n', 1)[0]}`, { pointer: 'txt', cause: error });
  }
}

/** Pango markup for one run: every character of the text is escaped, attributes are numbers we computed. */
function markup(text: string, style: TextStyle): string {
  const attributes = [
    `font_family="${FAMILIES[style.font.family]}"`,
    `font_size="${Math.max(1, Math.round(style.size * 1024))}"`,
    `font_weight="${style.font.weight}"`,
    `font_style="${style.font.italic ? 'italic' : 'normal'}"`,
    `letter_spacing="${Math.round(style.track * 1024)}"`,
  ];
  return `<span ${attributes.join(' ')}>${escapeMarkup(text)}</span>`;
}

export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function scaled(style: TextStyle, k: number): TextStyle {
  return k >= 1 ? style : { ...style, size: style.size * k, track: style.track * k };
}

function cropMask(mask: Mask, width: number): Mask {
  const data = Buffer.alloc(width * mask.height);
  for (let y = 0; y < mask.height; y++) mask.data.copy(data, y * width, y * mask.width, y * mask.width + width);
  return { data, width, height: mask.height };
}
