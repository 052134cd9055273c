/**
 * imgix's text parameters (`txt*`) → their normalised form in RenderParams. Everything depends on a
 * non-blank `txt`; defaults are dropped (txt-size 12, txt-color opaque black, txt-align bottom,right,
 * txt-pad 10, txt-clip end, txt-line-color white) and equivalent fonts fold into one canonical value.
 * What they draw: steps/text.ts.
 */
import { PictorError } from '../errors.ts';
import type { Rgba } from './colors.ts';
import type { Align, HorizontalAlign, RenderParams, VerticalAlign } from './render-params.ts';
import { canonicalFont, resolveFont } from './text/font-names.ts';
import type { Reader } from './normalize.ts';

type TextClip = NonNullable<RenderParams['txt-clip']>;

export const TEXT_PARAMS = [
  'txt', 'txt-font', 'txt-size', 'txt-color', 'txt-align', 'txt-clip', 'txt-fit', 'txt-width', 'txt-pad',
  'txt-line', 'txt-line-color', 'txt-shad', 'txt-track', 'txt-lead', 'txt-x', 'txt-y',
] as const;

/** The longest `txt`, in characters (code points): longer values are refused with a 400. */
export const MAX_TEXT_LENGTH = 500;
export const TEXT_DEFAULTS = { size: 12, pad: 10, align: ['bottom', 'right'] as Align, color: { r: 0, g: 0, b: 0, a: 255 } as Rgba };
/** Sizes and distances beyond these cannot change what is visible on an image of at most 8192 px a side. */
const MAX_LENGTH = 8192;
const MAX_OFFSET = 16384;
/** An outline wider than this is drawn this wide. */
export const MAX_OUTLINE = 100;
/** Letter spacing beyond this many pixels is drawn at this spacing. */
export const MAX_TRACK = 200;

// Line breaks and other control characters would be markup errors or extra lines: `txt` is one line.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function normalizeText(p: RenderParams, read: Reader): void {
  const raw = read.str('txt');
  if (raw === undefined) return;
  const length = [...raw].length;
  if (length > MAX_TEXT_LENGTH) {
    throw new PictorError('INVALID_PARAMETER', `txt must be at most ${MAX_TEXT_LENGTH} characters long, got ${length}`, { pointer: 'txt' });
  }
  const txt = raw.replace(CONTROL, ' ');
  const size = Math.min(MAX_LENGTH, read.num('txt-size') ?? TEXT_DEFAULTS.size);
  if (txt.trim() === '' || size <= 0) return; // nothing to draw: the other txt-* parameters cannot matter
  p.txt = txt;
  if (size !== TEXT_DEFAULTS.size) p['txt-size'] = size;

  const font = read.str('txt-font');
  const canonical = font === undefined ? undefined : canonicalFont(resolveFont(font));
  if (canonical) p['txt-font'] = canonical;
  const color = read.color('txt-color');
  if (color && !sameColor(color, TEXT_DEFAULTS.color)) p['txt-color'] = color;
  const align = normalizeAlign(read.list('txt-align'));
  if (align) p['txt-align'] = align;
  const clip = normalizeClip(read.list('txt-clip'));
  if (clip) p['txt-clip'] = clip;
  if (read.str('txt-fit') === 'max') p['txt-fit'] = 'max';

  const width = read.num('txt-width');
  if (width !== undefined && width > 0) p['txt-width'] = Math.min(MAX_LENGTH, width);
  const pad = read.num('txt-pad');
  if (pad !== undefined && pad !== TEXT_DEFAULTS.pad) p['txt-pad'] = Math.min(MAX_LENGTH, Math.max(0, pad));

  const line = Math.min(MAX_OUTLINE, read.num('txt-line') ?? 0);
  if (line > 0) {
    p['txt-line'] = line;
    const lineColor = read.color('txt-line-color');
    if (lineColor && !sameColor(lineColor, { r: 255, g: 255, b: 255, a: 255 })) p['txt-line-color'] = lineColor;
  }
  const shadow = read.num('txt-shad');
  if (shadow !== undefined && shadow > 0) p['txt-shad'] = shadow;
  const track = read.num('txt-track');
  if (track !== undefined && track !== 0) p['txt-track'] = Math.min(MAX_TRACK, track);
  // txt-lead spaces lines apart; `txt` is a single line, so it changes nothing (as on imgix).

  // Kept even when 0: an explicit position replaces the alignment on its axis.
  const x = read.num('txt-x');
  const y = read.num('txt-y');
  if (x !== undefined) p['txt-x'] = clamp(x, MAX_OFFSET);
  if (y !== undefined) p['txt-y'] = clamp(y, MAX_OFFSET);
}

/** Free-order keywords → [vertical, horizontal]; a missing axis keeps the default; the first keyword per axis wins. */
function normalizeAlign(values: readonly unknown[] | undefined): Align | undefined {
  if (!values || values.length === 0) return undefined;
  const [defaultVertical, defaultHorizontal] = TEXT_DEFAULTS.align;
  const vertical = values.find((v): v is VerticalAlign => v === 'top' || v === 'middle' || v === 'bottom') ?? defaultVertical;
  const horizontal = values.find((v): v is HorizontalAlign => v === 'left' || v === 'center' || v === 'right') ?? defaultHorizontal;
  return vertical === defaultVertical && horizontal === defaultHorizontal ? undefined : [vertical, horizontal];
}

/** `[position, 'ellipsis'?]`; the first position given wins; absent when it is the default (`end`, no ellipsis). */
function normalizeClip(values: readonly unknown[] | undefined): TextClip | undefined {
  if (!values || values.length === 0) return undefined;
  const position = values.find((v): v is TextClip[0] => v === 'start' || v === 'middle' || v === 'end') ?? 'end';
  const ellipsis = values.includes('ellipsis');
  if (position === 'end' && !ellipsis) return undefined;
  return ellipsis ? [position, 'ellipsis'] : [position];
}

function sameColor(a: Rgba, b: Rgba): boolean {
  return a.r === b.r && a.g === b.g && a.b === b.b && a.a === b.a;
}

function clamp(value: number, limit: number): number {
  return Math.min(limit, Math.max(-limit, Math.round(value)));
}
