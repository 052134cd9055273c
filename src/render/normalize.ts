/**
 * Validated values → `RenderParams`: keep only what changes the output, drop values equal to imgix's
 * defaults and parameters whose `depends` are not met, and fold equivalent spellings into one form.
 * Every rule here makes more URLs share one cache entry, so the renderer must read exactly these fields.
 */
import { PictorError } from '../errors.ts';
import type { Rgba } from './colors.ts';
import type { AutoFlag, CropMode, Fit, OutputFormatParam, RectValue, RenderParams } from './render-params.ts';
import { FACE_PARAMS, normalizeFaceData, normalizeFaces, readFit } from './faces-params.ts';
import { ANIMATION_PARAMS, normalizeAnimation } from './animation-params.ts';
import { normalizeOutput, OUTPUT_PARAMS } from './output-params.ts';
import { normalizePdf, PDF_PARAMS } from './pdf-params.ts';
import { CANVAS_PARAMS, normalizeCanvasFamily, normalizeGradient } from './canvas-params.ts';
import { normalizePalette, PALETTE_PARAMS } from './palette-params.ts';
import { normalizeSubImages, SUB_IMAGE_PARAMS } from './sub-image-params.ts';
import { normalizeText, TEXT_PARAMS } from './text-params.ts';
import { normalizeTone, TONE_PARAMS } from './tone-params.ts';
import { normalizeTrim, TRIM_PARAMS } from './trim-params.ts';
import type { ParamValue } from './values.ts';

/** Parameters the renderer implements. Anything else that imgix knows is validated, then ignored. */
export const SUPPORTED = new Set([
  'w', 'h', 'fit', 'crop', 'ar', 'rect', 'dpr', 'max-w', 'max-h', 'min-w', 'min-h', 'fp-x', 'fp-y', 'fp-z',
  'fm', 'q', 'lossless', 'auto', 'bg', 'fill', 'fill-color', 'pad', 'pad-top', 'pad-right', 'pad-bottom',
  'pad-left', 'rot', 'rot-type', 'flip', 'orient', 'blur', 'sharp', 'bri', 'con', 'sat', 'hue', 'gam', 'exp',
  'invert', 'monochrome', 'sepia', 'px',
  ...TRIM_PARAMS,
  ...SUB_IMAGE_PARAMS,
  ...TEXT_PARAMS,
  ...FACE_PARAMS,
  ...ANIMATION_PARAMS,
  ...OUTPUT_PARAMS,
  ...TONE_PARAMS,
  ...PDF_PARAMS,
  ...CANVAS_PARAMS,
  ...PALETTE_PARAMS,
]);

/** Absurd-but-valid sizes are bounded here; the planner then caps the output at maxOutputSide anyway. */
const MAX_PAD = 8192;
const ORIENT_ALIASES: Record<number, number> = { 0: 1, 90: 6, 180: 3, 270: 8 };
const OUTPUT_FORMATS = new Set(['jpg', 'pjpg', 'png', 'png8', 'png32', 'webp', 'avif', 'gif', 'json', 'blurhash']);
const LOSSLESS_CAPABLE = new Set(['webp', 'avif']);
const NON_LOSSY = new Set(['png', 'png8', 'png32', 'gif', 'json', 'blurhash']);

export function normalizeParams(values: ReadonlyMap<string, ParamValue>): RenderParams {
  const read = reader(values);
  const p: RenderParams = {};

  // A palette is computed from the rendered image, whatever fm says (fm, q and auto cannot change it).
  const palette = normalizePalette(p, read);
  const fm = palette ? undefined : outputFormat(read.str('fm'));
  if (fm === 'json') {
    // Metadata of the input: nothing else changes it, except asking for the faces in it.
    const json: RenderParams = { fm };
    normalizeFaceData(json, read);
    return json;
  }

  const w = positiveSize('w', read.num('w'));
  const h = positiveSize('h', read.num('h'));
  if (w !== undefined) p.w = w;
  if (h !== undefined) p.h = h;
  const dpr = read.num('dpr');
  if ((w !== undefined || h !== undefined) && dpr !== undefined && dpr !== 1) p.dpr = dpr;

  normalizeFit(p, read);
  normalizeFaces(p, read);
  normalizeFormat(p, read, fm);
  normalizeOutput(p, read);
  normalizeCanvas(p, read);
  normalizeOrientation(p, read);
  normalizeColour(p, read);
  normalizeTrim(p, read);
  normalizeSubImages(p, read);
  normalizeText(p, read);
  normalizeAnimation(p, read);
  normalizeTone(p, read);
  normalizeCanvasFamily(p, read);

  const rect = read.list('rect');
  if (rect) p.rect = rect as unknown as RectValue;
  normalizePdf(p, read); // last: it needs to know whether any other parameter is present
  return p;
}

function normalizeFit(p: RenderParams, read: Reader): void {
  const both = p.w !== undefined && p.h !== undefined;
  const ar = read.num('ar');
  // fit=facearea[,fallback]: the fallback is normalised here like any fit; normalizeFaces wraps it.
  let fit = (readFit(read).fit ?? 'clip') as Fit;
  if (fit === 'crop') {
    // ar alone crops the source to that ratio; otherwise crop needs a box (or one side plus ar/min/max).
    const active = p.w !== undefined || p.h !== undefined || ar !== undefined;
    if (!active) return;
    const bounds = (['max-w', 'max-h', 'min-w', 'min-h'] as const).filter((name) => read.num(name) !== undefined);
    // One side with neither ar nor bounds keeps the source's aspect ratio: that is plain scaling.
    if (!both && ar === undefined && bounds.length === 0) return;
    p.fit = 'crop';
    if (ar !== undefined && !both) p.ar = ar;
    for (const name of bounds) p[name] = read.num(name);
    const crop = normalizeCrop(read.list('crop') as string[] | undefined);
    if (crop) p.crop = crop;
    if (crop?.includes('focalpoint')) {
      const fx = read.num('fp-x');
      const fy = read.num('fp-y');
      const fz = read.num('fp-z');
      if (fx !== undefined && fx !== 0.5) p['fp-x'] = fx;
      if (fy !== undefined && fy !== 0.5) p['fp-y'] = fy;
      if (fz !== undefined && fz !== 1) p['fp-z'] = fz;
    }
    return;
  }
  if (p.w === undefined && p.h === undefined) return; // nothing to fit: the mode cannot matter
  // With one side only, the boxed modes degenerate to scaling by that side.
  if (!both) fit = fit === 'fillmax' || fit === 'min' || fit === 'max' ? 'max' : 'clip';
  if (fit === 'clip') return;
  p.fit = fit;
  if (fit === 'fill' || fit === 'fillmax') {
    if (read.str('fill') === 'blur') {
      p.fill = 'blur';
    } else if (read.str('fill') === 'gradient') {
      normalizeGradient(p, read);
    } else {
      // fill=solid (and gen, which needs a generative model) paint fill-color, white by default.
      const color = read.color('fill-color');
      if (color && !(color.r === 255 && color.g === 255 && color.b === 255 && color.a === 255)) p['fill-color'] = color;
    }
  }
}

/**
 * imgix's `crop` is a fallback chain. `faces`, wherever it is listed, is tried first (render time: centre
 * on the faces if any are found); the rest applies otherwise. Of the rest, the first value decides: a
 * strategy (focalpoint/edges/entropy) wins alone, directions combine (`top,left`). Opposite directions
 * cancel out; nothing left means the default centre.
 */
function normalizeCrop(values: string[] | undefined): CropMode[] | undefined {
  const faces: CropMode[] = values?.includes('faces') ? ['faces'] : [];
  const chain = (values ?? []).filter((v) => v !== 'faces');
  const first = chain[0];
  if (first === undefined) return faces.length > 0 ? faces : undefined;
  if (first === 'focalpoint' || first === 'edges' || first === 'entropy') return [...faces, first];
  const has = (v: string) => chain.includes(v);
  const out: CropMode[] = [...faces];
  if (has('top') !== has('bottom')) out.push(has('top') ? 'top' : 'bottom');
  if (has('left') !== has('right')) out.push(has('left') ? 'left' : 'right');
  return out.length > 0 ? out : undefined;
}

function normalizeFormat(p: RenderParams, read: Reader, fm: OutputFormatParam | undefined): void {
  if (fm) p.fm = fm;
  const auto = (read.list('auto') ?? []).filter((v): v is AutoFlag => v === 'compress' || v === 'format');
  const flags = [...new Set(auto)].sort();
  // Text outputs (a hash, a palette): quality, lossless and format negotiation cannot matter.
  if (fm === 'blurhash' || p.palette !== undefined) return;
  if (flags.length > 0) p.auto = flags;
  const format = flags.includes('format');
  const compress = flags.includes('compress');
  // auto=compress replaces fm=gif (imgix docs), so a gif request may still end up lossy.
  const mayBeLossy = format || !fm || !NON_LOSSY.has(fm) || (fm === 'gif' && compress);
  const q = read.num('q');
  if (q !== undefined && mayBeLossy && (q !== 75 || compress)) p.q = Math.max(1, q);
  if (read.bool('lossless') === true && (format || !fm || LOSSLESS_CAPABLE.has(fm))) p.lossless = true;
}

function normalizeCanvas(p: RenderParams, read: Reader): void {
  const bg = read.color('bg');
  if (bg && bg.a > 0) p.bg = bg; // a fully transparent bg is imgix's default (0FFF): same as none
  const all = read.num('pad') ?? 0;
  const side = (name: string) => Math.min(MAX_PAD, Math.max(0, read.num(name) ?? all));
  const sides = { top: side('pad-top'), right: side('pad-right'), bottom: side('pad-bottom'), left: side('pad-left') };
  const { top, right, bottom, left } = sides;
  if (top === right && top === bottom && top === left) {
    if (top > 0) p.pad = top;
  } else {
    p['pad-top'] = top;
    p['pad-right'] = right;
    p['pad-bottom'] = bottom;
    p['pad-left'] = left;
  }
}

function normalizeOrientation(p: RenderParams, read: Reader): void {
  const rot = wrapDegrees(read.num('rot'));
  if (rot !== 0) {
    p.rot = rot;
    if (read.str('rot-type') === 'pivot') p['rot-type'] = 'pivot';
  }
  const flip = read.str('flip');
  if (flip === 'h' || flip === 'v' || flip === 'hv') p.flip = flip;
  const orient = read.num('orient');
  // Kept even when 1: it means "ignore the file's EXIF orientation", which is not the default.
  if (orient !== undefined) p.orient = ORIENT_ALIASES[orient] ?? orient;
}

function normalizeColour(p: RenderParams, read: Reader): void {
  for (const name of ['blur', 'sharp', 'bri', 'con', 'sat', 'gam', 'exp', 'sepia'] as const) {
    const value = read.num(name);
    if (value !== undefined && value !== 0) p[name] = value;
  }
  const hue = wrapDegrees(read.num('hue'));
  if (hue !== 0) p.hue = hue;
  const px = read.num('px');
  if (px !== undefined && px > 1) p.px = px; // blocks of one pixel are the identity
  if (read.bool('invert') === true) p.invert = true;
  const mono = read.color('monochrome');
  if (mono && mono.a > 0) p.monochrome = mono;
}

function outputFormat(fm: string | undefined): OutputFormatParam | undefined {
  if (fm === undefined) return undefined;
  if (fm === 'jp2' || fm === 'jxr') {
    // No JPEG 2000 / JPEG XR encoder in sharp's prebuilt libvips: say so rather than send a JPEG under that name.
    const name = fm === 'jp2' ? 'JPEG 2000 (fm=jp2)' : 'JPEG XR (fm=jxr)';
    throw new PictorError('INVALID_PARAMETER', `fm: ${name} cannot be produced here; ask for fm=avif, fm=webp or fm=jpg instead`, { pointer: 'fm' });
  }
  return OUTPUT_FORMATS.has(fm) ? (fm as OutputFormatParam) : undefined; // mp4/webm/spritesheet: video, ignored
}

function positiveSize(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value <= 0) {
    throw new PictorError('INVALID_PARAMETER', `${name} must be an integer between 2 and 8192 or a fraction above 0 and at most 1, got "${value}"`, { pointer: name });
  }
  return value;
}

function wrapDegrees(value: number | undefined): number {
  if (value === undefined) return 0;
  const wrapped = ((value % 360) + 360) % 360;
  return Math.round(wrapped * 1000) / 1000;
}

export interface Reader {
  num(name: string): number | undefined;
  str(name: string): string | undefined;
  bool(name: string): boolean | undefined;
  color(name: string): Rgba | undefined;
  list(name: string): (number | string | Rgba)[] | undefined;
}

function reader(values: ReadonlyMap<string, ParamValue>): Reader {
  return {
    num: (name) => { const v = values.get(name); return typeof v === 'number' ? v : undefined; },
    str: (name) => { const v = values.get(name); return typeof v === 'string' ? v : undefined; },
    bool: (name) => { const v = values.get(name); return typeof v === 'boolean' ? v : undefined; },
    color: (name) => { const v = values.get(name); return isColor(v) ? v : undefined; },
    list: (name) => { const v = values.get(name); return Array.isArray(v) ? v : undefined; },
  };
}

function isColor(value: ParamValue | undefined): value is Rgba {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
