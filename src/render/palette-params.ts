/**
 * imgix's palette extraction parameters (`palette`, `colors`, `prefix`): normalisation into `RenderParams`.
 * A palette request returns CSS or JSON computed from the rendered image, so the output-format parameters
 * (fm, q, auto, lossless) cannot change it and are dropped by normalize.ts; defaults are dropped here.
 * The extraction itself is in data/palette.ts.
 */
import { PictorError } from '../errors.ts';
import { MAX_COLORS } from './data/palette.ts';
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const PALETTE_PARAMS: readonly string[] = ['palette', 'colors', 'prefix'];

/** imgix's defaults: six colours, classes named `.image-fg-1` … */
export const DEFAULT_COLORS = 6;
export const DEFAULT_PREFIX = 'image';
const MAX_PREFIX_LENGTH = 64;
/** A CSS class name that needs no escaping: it is written into the stylesheet verbatim. */
const CSS_CLASS_NAME = /^-?[A-Za-z_][A-Za-z0-9_-]*$/;

/** Sets the palette fields and returns true when the request asks for a palette. */
export function normalizePalette(p: RenderParams, read: Reader): boolean {
  const palette = read.str('palette');
  if (palette !== 'css' && palette !== 'json') return false;
  p.palette = palette;
  // The manifest clamps colors to 0–16 already; the bound is repeated so that it holds here on its own.
  const colors = read.num('colors');
  if (colors !== undefined && colors !== DEFAULT_COLORS) p.colors = Math.min(MAX_COLORS, Math.max(0, colors));
  const prefix = read.str('prefix');
  if (palette === 'css' && prefix !== undefined && prefix !== DEFAULT_PREFIX) {
    if (prefix.length > MAX_PREFIX_LENGTH || !CSS_CLASS_NAME.test(prefix)) {
      throw new PictorError(
        'INVALID_PARAMETER',
        `prefix must be a CSS class name of at most ${MAX_PREFIX_LENGTH} characters (letters, digits, "-" and "_", not starting with a digit), got "${prefix.slice(0, 64)}"`,
        { pointer: 'prefix' },
      );
    }
    p.prefix = prefix;
  }
  return true;
}
