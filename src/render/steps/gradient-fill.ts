/**
 * fit=fill / fillmax with `fill=gradient`: the image, contained in the box, over a gradient that covers it.
 *
 * - Linear (default): from the first colour to the second, towards `fill-gradient-linear-direction`
 *   (default bottom; two sides make a diagonal from corner to corner).
 * - Radial: the first colour out to radius 1, blending into the second at radius 2 (a radius 1 larger than
 *   radius 2 swaps the colours' roles, as imgix documents), centred at `fill-gradient-radial-x`/`-y`.
 *   Radii are pixels or fractions of the box's smaller side; the centre pixels or fractions of its sides.
 * - `fill-gradient-cs` is the space the colours are mixed in: the gradient is drawn through stops mixed in
 *   that space (sRGB between close stops is indistinguishable from the exact curve).
 * - Without colours, imgix takes the image palette's "vivid dark" and "vivid light". Pictor approximates
 *   them from the image's mean colour: the same hue, at least half saturated, at 25 % and 80 % lightness.
 */
import { STAGE } from '../builder.ts';
import { RADIAL_RADIUS } from '../canvas-params.ts';
import { mixColors, hslToRgb, rgbToHsl } from '../color-mix.ts';
import type { Rgba } from '../colors.ts';
import type { ResizePlan, Size } from '../geometry.ts';
import type { GradientColorSpace, LinearDirection, RenderParams } from '../render-params.ts';
import { paint, type RenderContext } from './context.ts';

const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };
/** Stops per gradient when mixing outside sRGB. */
const STOPS = 16;

export async function applyGradientFill(ctx: RenderContext, plan: Extract<ResizePlan, { kind: 'contain' }>): Promise<void> {
  const { builder, params } = ctx;
  const { width, height } = plan;
  const given = params['fill-gradient-type'] === 'radial' ? params['fill-gradient-radial'] : params['fill-gradient-linear'];
  const colors = (given ?? (await imageColors(ctx))).map((color) => paint(ctx, color)) as [Rgba, Rgba];
  const background = gradientSvg({ width, height }, params, colors);
  const opaque = !builder.hasAlpha && colors.every((color) => color.a === 255);
  await builder.add({
    slots: ['resize', 'composite'],
    from: STAGE.resize,
    to: STAGE.composite,
    apply: (image) => {
      image
        .resize(width, height, { fit: 'contain', background: TRANSPARENT, withoutEnlargement: !plan.enlarge })
        .composite([{ input: background, blend: 'dest-over' }]);
      return opaque ? image.removeAlpha() : image;
    },
  });
  if (!opaque) builder.hasAlpha = true;
}

/** An SVG of `size` filled with the gradient the parameters describe. */
export function gradientSvg(size: Size, params: RenderParams, [first, second]: readonly [Rgba, Rgba]): Buffer {
  const space = params['fill-gradient-cs'] ?? 'srgb';
  let gradient: string;
  if (params['fill-gradient-type'] === 'radial') {
    const short = Math.min(size.width, size.height);
    const length = (v: number, side: number) => (v <= 1 ? v * side : v);
    const [r1, r2] = (params['fill-gradient-radial-radius'] ?? RADIAL_RADIUS).map((v) => length(v, short)) as [number, number];
    const cx = length(params['fill-gradient-radial-x'] ?? 0.5, size.width);
    const cy = length(params['fill-gradient-radial-y'] ?? 0.5, size.height);
    // The colour with the smaller radius is the inner one.
    const [inner, outer, innerRadius, outerRadius] = r1 <= r2 ? [first, second, r1, r2] : [second, first, r2, r1];
    const r = Math.max(1, outerRadius);
    gradient = `<radialGradient id="g" gradientUnits="userSpaceOnUse" cx="${cx}" cy="${cy}" r="${r}">${stops(inner, outer, innerRadius / r, 1, space)}</radialGradient>`;
  } else {
    const [x1, y1, x2, y2] = linearVector(params['fill-gradient-linear-direction'] ?? ['bottom']);
    gradient = `<linearGradient id="g" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}">${stops(first, second, 0, 1, space)}</linearGradient>`;
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}"><defs>${gradient}</defs>` +
      `<rect width="${size.width}" height="${size.height}" fill="url(#g)"/></svg>`,
  );
}

/** Start and end of the gradient in the box's own units (0…1), towards the given side(s). */
function linearVector(direction: LinearDirection): [number, number, number, number] {
  const towards = (side: string) => direction.includes(side as never);
  const x = towards('right') ? [0, 1] : towards('left') ? [1, 0] : [0, 0];
  const y = towards('bottom') ? [0, 1] : towards('top') ? [1, 0] : [0, 0];
  return [x[0]!, y[0]!, x[1]!, y[1]!];
}

function stops(from: Rgba, to: Rgba, start: number, end: number, space: GradientColorSpace): string {
  const count = space === 'srgb' ? 2 : STOPS;
  let out = '';
  for (let i = 0; i < count; i++) {
    const t = i / (count - 1);
    const c = mixColors(from, to, t, space);
    out += `<stop offset="${start + (end - start) * t}" stop-color="rgb(${c.r},${c.g},${c.b})" stop-opacity="${(c.a / 255).toFixed(4)}"/>`;
  }
  return out;
}

/** A dark and a light colour of the image's mean hue (see the header). */
async function imageColors(ctx: RenderContext): Promise<[Rgba, Rgba]> {
  const { data, info } = await ctx.builder.branch((image) => image.resize(16, 16, { fit: 'fill' }).toColourspace('srgb'));
  const sum = [0, 0, 0];
  const pixels = info.width * info.height;
  const bands = info.channels;
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) sum[c]! += data[i * bands + Math.min(c, bands - 1)]!;
  }
  const [h, s] = rgbToHsl(sum.map((v) => v / pixels / 255) as [number, number, number]);
  const saturation = s < 0.05 ? s : Math.max(s, 0.5);
  const color = (lightness: number): Rgba => {
    const [r, g, b] = hslToRgb([h, saturation, lightness]);
    return { r: Math.round(r * 255), g: Math.round(g * 255), b: Math.round(b * 255), a: 255 };
  };
  return [color(0.25), color(0.8)];
}
