/**
 * imgix's canvas parameters — `mask` (+ `corner-radius`, `mask-bg`), `border*`, `border-stroke-*`,
 * `fill=gradient`'s `fill-gradient-*` and `transparency=grid` (+ `grid-*`): normalisation into
 * `RenderParams`, and the small readers the planner and the steps share. Rendering: steps/canvas-shapes.ts
 * and steps/gradient-fill.ts.
 *
 * As in normalize.ts, defaults and parameters whose `depends` are unmet are dropped, so equivalent URLs
 * share one cache entry.
 */
import type { Rgba } from './colors.ts';
import type { Reader } from './normalize.ts';
import type { GradientColorSpace, LinearDirection, Padding, Radii, RenderParams } from './render-params.ts';

export const CANVAS_PARAMS: readonly string[] = [
  'mask', 'mask-bg', 'corner-radius',
  'border', 'border-top', 'border-right', 'border-bottom', 'border-left', 'border-radius', 'border-radius-inner',
  'border-stroke-size', 'border-stroke-color',
  'fill-gradient-type', 'fill-gradient-linear', 'fill-gradient-linear-direction', 'fill-gradient-radial',
  'fill-gradient-radial-radius', 'fill-gradient-radial-x', 'fill-gradient-radial-y', 'fill-gradient-cs',
  'transparency', 'grid-colors', 'grid-size',
];

/** The two built-in mask shapes; any other `mask` value is an image reference. */
export const MASK_SHAPES = new Set(['ellipse', 'corners']);
/** imgix docs (transparency): light grey and white squares of 4 px. */
export const GRID_COLORS: readonly [Rgba, Rgba] = [{ r: 0xd0, g: 0xd7, b: 0xdd, a: 255 }, { r: 255, g: 255, b: 255, a: 255 }];
export const GRID_SIZE = 4;
/** The manifest's default radii of a radial gradient, as fractions of the box's smaller side. */
export const RADIAL_RADIUS: readonly [number, number] = [0.25, 0.5];
/** Bounds absurd-but-valid radii and squares (the output itself is at most 8192 px a side). */
const MAX_LENGTH = 8192;

export function normalizeCanvasFamily(p: RenderParams, read: Reader): void {
  normalizeMask(p, read);
  normalizeBorder(p, read);
  if (read.str('transparency') === 'grid') {
    p.transparency = 'grid';
    const colors = read.list('grid-colors') as Rgba[] | undefined;
    if (colors && !(sameColor(colors[0]!, GRID_COLORS[0]) && sameColor(colors[1]!, GRID_COLORS[1]))) p['grid-colors'] = [colors[0]!, colors[1]!];
    const size = read.num('grid-size');
    if (size !== undefined && size !== GRID_SIZE) p['grid-size'] = Math.min(MAX_LENGTH, Math.max(1, size));
  }
}

/** fill=gradient with fit=fill/fillmax (called by normalizeFit, which owns `fill`). */
export function normalizeGradient(p: RenderParams, read: Reader): void {
  p.fill = 'gradient';
  const cs = read.str('fill-gradient-cs') as GradientColorSpace | undefined;
  if (cs !== undefined && cs !== 'srgb') p['fill-gradient-cs'] = cs;
  if (read.str('fill-gradient-type') === 'radial') {
    p['fill-gradient-type'] = 'radial';
    const colors = read.list('fill-gradient-radial') as Rgba[] | undefined;
    if (colors) p['fill-gradient-radial'] = [colors[0]!, colors[1]!];
    const radius = read.list('fill-gradient-radial-radius') as number[] | undefined;
    if (radius && !(radius[0] === RADIAL_RADIUS[0] && radius[1] === RADIAL_RADIUS[1])) p['fill-gradient-radial-radius'] = [radius[0]!, radius[1]!];
    for (const name of ['fill-gradient-radial-x', 'fill-gradient-radial-y'] as const) {
      const value = read.num(name);
      if (value !== undefined && value !== 0.5) p[name] = value;
    }
    return;
  }
  const colors = read.list('fill-gradient-linear') as Rgba[] | undefined;
  if (colors) p['fill-gradient-linear'] = [colors[0]!, colors[1]!];
  const direction = linearDirection(read.list('fill-gradient-linear-direction') as string[] | undefined);
  if (direction) p['fill-gradient-linear-direction'] = direction;
}

/**
 * How many whole-image RGBA layers the canvas steps rasterise (charged by cost.ts): the rounded border's
 * ring and outline, the stroke, a gradient fill. (Masks are layers of their own: layer-cost.ts.)
 */
export function canvasLayers(params: RenderParams): number {
  let layers = 0;
  if (params['border-radius'] !== undefined || params['border-radius-inner'] !== undefined) layers += 2;
  if (params['border-stroke-size'] !== undefined) layers++;
  if (params.fill === 'gradient') layers++;
  return layers;
}

/** Border widths per side (0 without `border`); `border-top` etc. override the width of `border`. */
export function borderOf(params: RenderParams): Padding {
  const width = params.border?.[0] ?? 0;
  return {
    top: params['border-top'] ?? width,
    right: params['border-right'] ?? width,
    bottom: params['border-bottom'] ?? width,
    left: params['border-left'] ?? width,
  };
}

/** Radii as four corners: top-left, top-right, bottom-right, bottom-left. */
export function cornersOf(radii: Radii): [number, number, number, number] {
  return typeof radii === 'number' ? [radii, radii, radii, radii] : [...radii];
}

function normalizeMask(p: RenderParams, read: Reader): void {
  const mask = read.str('mask');
  if (mask === undefined) return;
  p.mask = mask;
  const bg = read.color('mask-bg');
  if (bg && bg.a > 0) p['mask-bg'] = bg; // transparent is the default
  if (mask !== 'corners') return;
  const radius = radii(read, 'corner-radius');
  // 0 is meaningful here: square corners, instead of the default 20 % of the smaller side.
  if (radius !== undefined) p['corner-radius'] = radius;
}

function normalizeBorder(p: RenderParams, read: Reader): void {
  const stroke = read.num('border-stroke-size');
  const strokeColor = read.color('border-stroke-color');
  if (stroke !== undefined && stroke > 0 && strokeColor && strokeColor.a > 0) {
    p['border-stroke-size'] = stroke;
    p['border-stroke-color'] = strokeColor;
  }
  const border = read.list('border') as [number, Rgba] | undefined;
  if (!border) return;
  const [width, color] = border;
  const sides = { 'border-top': read.num('border-top'), 'border-right': read.num('border-right'), 'border-bottom': read.num('border-bottom'), 'border-left': read.num('border-left') };
  if (Object.values(sides).every((side) => (side ?? width) <= 0)) return;
  p.border = [width, color];
  for (const [name, side] of Object.entries(sides) as [keyof typeof sides, number | undefined][]) {
    if (side !== undefined && side !== width) p[name] = Math.max(0, side);
  }
  for (const name of ['border-radius', 'border-radius-inner'] as const) {
    const value = radii(read, name);
    if (value !== undefined && value !== 0) p[name] = value;
  }
}

/** One radius for all corners, or four (top-left first, clockwise); four equal ones fold into one. */
function radii(read: Reader, name: string): Radii | undefined {
  const one = read.num(name);
  if (one !== undefined) return Math.min(MAX_LENGTH, one);
  const four = read.list(name) as number[] | undefined;
  if (!four) return undefined;
  const clamped = four.map((v) => Math.min(MAX_LENGTH, v)) as [number, number, number, number];
  if (clamped.every((v) => v === clamped[0])) return clamped[0];
  return clamped;
}

/**
 * Where the gradient flows to: one side, or a vertical and a horizontal side for a diagonal. Opposite sides
 * cancel out (the manifest's own default "top,bottom" does); nothing left is imgix's documented `bottom`.
 */
function linearDirection(values: string[] | undefined): LinearDirection | undefined {
  const has = (v: string) => values?.includes(v) ?? false;
  const vertical = has('top') !== has('bottom') ? (has('top') ? 'top' : 'bottom') : undefined;
  const horizontal = has('left') !== has('right') ? (has('left') ? 'left' : 'right') : undefined;
  if (vertical && horizontal) return [vertical, horizontal];
  if (horizontal) return [horizontal];
  if (vertical === 'top') return ['top'];
  return undefined;
}

function sameColor(a: Rgba, b: Rgba): boolean {
  return a.r === b.r && a.g === b.g && a.b === b.b && a.a === b.a;
}
