/**
 * imgix's watermark (`mark*`) and blend (`blend*`) parameters: normalisation into `RenderParams`, and the
 * two helpers the delivery layer uses to fetch sub-images (`subImageRefs`) and refuse nested ones
 * (`hasSubImages`). The rendering itself is in steps/mark.ts and steps/blend.ts.
 *
 * Like the rest of normalize.ts, values equal to imgix's defaults and parameters without the layer they
 * belong to are dropped, so equivalent URLs share one cache entry; references are kept verbatim.
 */
import type { Rgba } from './colors.ts';
import { MASK_SHAPES } from './canvas-params.ts';
import type { Reader } from './normalize.ts';
import type { Align, BlendFit, BlendMode, HorizontalAlign, MarkFit, RenderParams, VerticalAlign } from './render-params.ts';

export const SUB_IMAGE_PARAMS: readonly string[] = [
  'mark', 'mark-base', 'mark-w', 'mark-h', 'mark-fit', 'mark-scale', 'mark-align', 'mark-pad', 'mark-x', 'mark-y',
  'mark-alpha', 'mark-rot', 'mark-tile', 'mark-if-min-width', 'mark-if-min-height',
  'blend', 'blend-color', 'blend-mode', 'blend-alpha', 'blend-w', 'blend-h', 'blend-fit', 'blend-crop', 'blend-size',
  'blend-align', 'blend-pad', 'blend-x', 'blend-y',
];

/** imgix: a single mark sits bottom-right, 5 px from the edges; a tiled one starts top-left (docs: mark-tile). */
export const MARK_ALIGN: Align = ['bottom', 'right'];
export const MARK_TILE_ALIGN: Align = ['top', 'left'];
export const MARK_PAD = 5;
/** imgix docs (blend-align): "If no value is explicitly set, the default behavior is center,middle". */
export const BLEND_ALIGN: Align = ['middle', 'center'];
/** Bounds absurd-but-valid offsets and paddings (the output itself is at most 8192 px a side). */
const MAX_OFFSET = 16384;

/** The references the delivery layer must fetch (and render with their own query, one level deep). */
export interface SubImageRefs {
  /** `mark`, or `mark-base` joined with `mark` when a base is given. */
  mark?: string;
  /** Only for image blends; colour blends need no fetch. */
  blend?: string;
  /** Only for image masks (not the ellipse and corners shapes). */
  mask?: string;
}

export function subImageRefs(params: RenderParams): SubImageRefs {
  const refs: SubImageRefs = {};
  if (params.mark !== undefined) {
    const base = params['mark-base'];
    refs.mark = base === undefined ? params.mark : joinBase(base, params.mark);
  }
  if (params.blend !== undefined) refs.blend = params.blend;
  if (params.mask !== undefined && !MASK_SHAPES.has(params.mask)) refs.mask = params.mask;
  return refs;
}

/** True when rendering needs a fetched sub-image. A sub-image's own params must not have any (one level). */
export function hasSubImages(params: RenderParams): boolean {
  return params.mark !== undefined || params.blend !== undefined || (params.mask !== undefined && !MASK_SHAPES.has(params.mask));
}

/**
 * imgix: "the value of mark is treated as a path relative to this base URL"
 * (`mark-base=https://assets.imgix.net/watermarks/&mark=logo.png` → `…/watermarks/logo.png`). Joined with
 * exactly one slash; an absolute `mark` URL is left alone.
 */
export function joinBase(base: string, mark: string): string {
  if (/^https?:\/\//i.test(mark)) return mark;
  const slashes = Number(base.endsWith('/')) + Number(mark.startsWith('/'));
  if (slashes === 2) return base + mark.slice(1);
  if (slashes === 1) return base + mark;
  return `${base}/${mark}`;
}

export function normalizeSubImages(p: RenderParams, read: Reader): void {
  normalizeMark(p, read);
  normalizeBlend(p, read);
}

function normalizeMark(p: RenderParams, read: Reader): void {
  const mark = read.str('mark');
  if (mark === undefined) return;
  p.mark = mark;
  const base = read.str('mark-base');
  if (base !== undefined) p['mark-base'] = base;

  // Size: mark-scale wins over mark-w/mark-h (a choice: imgix documents no precedence). 0 means unset.
  const scale = read.num('mark-scale');
  if (scale !== undefined && scale > 0) {
    p['mark-scale'] = Math.min(100, scale);
  } else {
    const w = positive(read.num('mark-w'));
    const h = positive(read.num('mark-h'));
    if (w !== undefined) p['mark-w'] = w;
    if (h !== undefined) p['mark-h'] = h;
    const fit = boxFit(read.str('mark-fit') as MarkFit | undefined, w, h, ['crop', 'fill', 'scale']);
    if (fit) p['mark-fit'] = fit as Exclude<MarkFit, 'clip'>;
  }

  const tile = read.str('mark-tile') === 'grid';
  if (tile) p['mark-tile'] = 'grid';
  const align = normalizeAlign(read.list('mark-align'), tile ? MARK_TILE_ALIGN : MARK_ALIGN);
  if (align) p['mark-align'] = align;
  const pad = read.num('mark-pad');
  if (pad !== undefined && pad !== MARK_PAD) p['mark-pad'] = Math.min(MAX_OFFSET, Math.max(0, pad));
  const x = read.num('mark-x');
  const y = read.num('mark-y');
  if (x !== undefined) p['mark-x'] = clampOffset(x);
  if (y !== undefined) p['mark-y'] = clampOffset(y);
  const alpha = read.num('mark-alpha');
  if (alpha !== undefined && alpha < 100) p['mark-alpha'] = Math.max(0, alpha);
  const rot = wrapDegrees(read.num('mark-rot'));
  if (rot !== 0) p['mark-rot'] = rot;
  for (const name of ['mark-if-min-width', 'mark-if-min-height'] as const) {
    const value = read.num(name);
    if (value !== undefined && value > 0) p[name] = value;
  }
}

function normalizeBlend(p: RenderParams, read: Reader): void {
  const image = read.str('blend');
  // blend=<colour> and blend-color are the same layer; blend-color, the dedicated parameter, wins. An image
  // blend ignores blend-color (a choice: imgix does not document the combination).
  const color: Rgba | undefined = image === undefined ? (read.color('blend-color') ?? read.color('blend')) : undefined;
  if (image === undefined && (color === undefined || color.a === 0)) return; // nothing, or an invisible colour
  const alpha = read.num('blend-alpha');
  if (alpha === 0) return; // a fully transparent layer changes nothing: not even a fetch is needed
  if (image !== undefined) p.blend = image;
  else p['blend-color'] = color;
  const mode = read.str('blend-mode') as BlendMode | undefined;
  if (mode !== undefined && mode !== 'overlay') p['blend-mode'] = mode;
  if (alpha !== undefined && alpha < 100) p['blend-alpha'] = alpha;
  if (image === undefined) return; // imgix: fit, size, crop, align and position do not apply to colours

  const crop = normalizeCrop(read.list('blend-crop') as string[] | undefined);
  if (read.str('blend-size') === 'inherit') {
    // The overlay takes the base image's size: placement and the blend's own box no longer matter.
    p['blend-size'] = 'inherit';
    if (crop) p['blend-crop'] = crop;
    return;
  }
  const w = positive(read.num('blend-w'));
  const h = positive(read.num('blend-h'));
  if (w !== undefined) p['blend-w'] = w;
  if (h !== undefined) p['blend-h'] = h;
  const fit = boxFit(read.str('blend-fit') as BlendFit | undefined, w, h, ['clamp', 'crop', 'scale']);
  if (fit) p['blend-fit'] = fit as Exclude<BlendFit, 'clip'>;
  if (fit === 'crop' && crop) p['blend-crop'] = crop;
  const align = normalizeAlign(read.list('blend-align'), BLEND_ALIGN);
  if (align) p['blend-align'] = align;
  const pad = read.num('blend-pad');
  if (pad !== undefined && pad > 0) p['blend-pad'] = Math.min(MAX_OFFSET, pad);
  const x = read.num('blend-x');
  const y = read.num('blend-y');
  if (x !== undefined) p['blend-x'] = clampOffset(x);
  if (y !== undefined) p['blend-y'] = clampOffset(y);
}

/**
 * The fit only matters with a box: `max` differs from `clip` even with one side (no upscaling); the
 * two-sided modes (crop, fill, scale, clamp) degenerate to `clip` when only one side is given.
 */
function boxFit<T extends string>(fit: T | undefined, w: number | undefined, h: number | undefined, twoSided: readonly string[]): T | undefined {
  if (fit === undefined || fit === 'clip' || (w === undefined && h === undefined)) return undefined;
  if (fit === 'max') return fit;
  return w !== undefined && h !== undefined && twoSided.includes(fit) ? fit : undefined;
}

/** Free-order keywords → [vertical, horizontal]; a missing axis keeps the default; the first keyword per axis wins. */
function normalizeAlign(values: readonly unknown[] | undefined, fallback: Align): Align | undefined {
  if (!values || values.length === 0) return undefined;
  const vertical = values.find((v): v is VerticalAlign => v === 'top' || v === 'middle' || v === 'bottom') ?? fallback[0];
  const horizontal = values.find((v): v is HorizontalAlign => v === 'left' || v === 'center' || v === 'right') ?? fallback[1];
  return vertical === fallback[0] && horizontal === fallback[1] ? undefined : [vertical, horizontal];
}

/** Like `crop`: faces falls through (no detector), opposite directions cancel, vertical first. */
function normalizeCrop(values: string[] | undefined): ('top' | 'bottom' | 'left' | 'right')[] | undefined {
  const has = (v: string) => values?.includes(v) ?? false;
  const out: ('top' | 'bottom' | 'left' | 'right')[] = [];
  if (has('top') !== has('bottom')) out.push(has('top') ? 'top' : 'bottom');
  if (has('left') !== has('right')) out.push(has('left') ? 'left' : 'right');
  return out.length > 0 ? out : undefined;
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

function clampOffset(value: number): number {
  return Math.min(MAX_OFFSET, Math.max(-MAX_OFFSET, Math.round(value)));
}

function wrapDegrees(value: number | undefined): number {
  if (value === undefined) return 0;
  const wrapped = ((value % 360) + 360) % 360;
  return Math.round(wrapped * 1000) / 1000;
}
