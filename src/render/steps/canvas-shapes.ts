/**
 * imgix `mask` and `border*`: shapes cut out of the image or drawn around it (rendering-notes §5 order:
 * mask → pad → border).
 *
 * - `mask=ellipse` stretches an ellipse over the image; `mask=corners` rounds its corners by `corner-radius`
 *   (default 20 % of the smaller side); `mask=<image>` keeps each pixel by the mask image's luminance times
 *   its alpha, the mask stretched to the image (imgix docs: white is kept, black hidden). The masked-out
 *   area is transparent, or `mask-bg`; outputs without alpha flatten it onto bg or white like any
 *   transparency. The mask applies to the fitted image (fill bars included), not to the padding.
 * - `border` is drawn outside the padding; the planner already made room for it inside the requested size
 *   (padStep extends the canvas by padding and border together). `border-radius` rounds the output's outer
 *   corners (transparent outside), `border-radius-inner` the edge between border and picture.
 * - `border-stroke-size`/`-color`: a line along the output's outer edge, following `border-radius`.
 *
 * Shapes are drawn by sharp's SVG rasteriser (anti-aliased edges) as one composite over the current image;
 * plain rectangles need no SVG.
 */
import type { OverlayOptions } from 'sharp';
import { STAGE } from '../builder.ts';
import { cornersOf } from '../canvas-params.ts';
import { toSharpColor, type Rgba } from '../colors.ts';
import type { Size } from '../geometry.ts';
import { paint, type RenderContext } from './context.ts';
import { loadOverlay } from './overlay.ts';

type Corners = [number, number, number, number];

export async function maskStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const mask = params.mask;
  if (mask === undefined) return;
  const size: Size = { width: builder.width, height: builder.height };
  let shape: OverlayOptions;
  if (mask === 'ellipse') {
    const { width: w, height: h } = size;
    shape = { input: svg(size, `<ellipse cx="${w / 2}" cy="${h / 2}" rx="${w / 2}" ry="${h / 2}" fill="#fff"/>`), blend: 'dest-in' };
  } else if (mask === 'corners') {
    const radii = params['corner-radius'] ?? Math.round(0.2 * Math.min(size.width, size.height));
    const corners = fitRadii(cornersOf(radii), size);
    if (corners.every((r) => r === 0)) return;
    shape = { input: svg(size, `<path d="${roundedRect(0, 0, size, corners)}" fill="#fff"/>`), blend: 'dest-in' };
  } else {
    const buffer = ctx.subImages?.mask;
    if (buffer === undefined) return; // the delivery layer could not fetch it: drawn without the mask, like mark
    shape = await imageMask(ctx, buffer, size);
  }
  const layers = [shape];
  const bg = params['mask-bg'];
  if (bg) layers.push({ input: { create: { ...size, channels: 4, background: toSharpColor(paint(ctx, bg)) } }, blend: 'dest-over' });
  builder.hasAlpha = !(bg && paint(ctx, bg).a === 255);
  await composite(ctx, layers);
}

/** Border (after padStep made room for it) and the outer-edge stroke. */
export async function borderStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const size: Size = { width: builder.width, height: builder.height };
  const layers: OverlayOptions[] = [];
  const outer = fitRadii(cornersOf(params['border-radius'] ?? 0), size);
  const rounded = outer.some((r) => r > 0);
  const color = params.border?.[1];
  const { top, right, bottom, left } = ctx.border;
  if (color && top + right + bottom + left > 0) {
    const inner: Size = { width: Math.max(0, size.width - left - right), height: Math.max(0, size.height - top - bottom) };
    const innerRadii = fitRadii(cornersOf(params['border-radius-inner'] ?? 0), inner);
    if (rounded || innerRadii.some((r) => r > 0)) {
      const ring = `${roundedRect(0, 0, size, outer)} ${roundedRect(left, top, inner, innerRadii)}`;
      layers.push({ input: svg(size, `<path fill-rule="evenodd" d="${ring}" ${svgFill(color)}/>`) });
    } else {
      layers.push(...bands(size, ctx.border, color));
    }
  }
  const stroke = params['border-stroke-size'];
  const strokeColor = params['border-stroke-color'];
  if (stroke !== undefined && strokeColor) {
    const s = Math.min(stroke, Math.floor(Math.min(size.width, size.height) / 2));
    const inside: Size = { width: size.width - 2 * s, height: size.height - 2 * s };
    const insideRadii = fitRadii(outer.map((r) => Math.max(0, r - s)) as Corners, inside);
    const ring = `${roundedRect(0, 0, size, outer)} ${inside.width > 0 && inside.height > 0 ? roundedRect(s, s, inside, insideRadii) : ''}`;
    if (s > 0) layers.push({ input: svg(size, `<path fill-rule="evenodd" d="${ring}" ${svgFill(strokeColor)}/>`) });
  }
  if (rounded) {
    layers.push({ input: svg(size, `<path d="${roundedRect(0, 0, size, outer)}" fill="#fff"/>`), blend: 'dest-in' });
    builder.hasAlpha = true;
  }
  if (layers.length > 0) await composite(ctx, layers);
}

/** Luminance × alpha of the mask image, stretched to `size`, as the alpha of a dest-in layer. */
async function imageMask(ctx: RenderContext, buffer: Buffer, size: Size): Promise<OverlayOptions> {
  const mask = await loadOverlay(ctx, 'mask', buffer, () => ({ resize: { kind: 'scale', ...size } }));
  const { data } = mask;
  for (let i = 0; i < data.length; i += 4) {
    // Rec. 709 luma of the sRGB values: white keeps, black hides.
    const luma = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
    data[i + 3] = Math.round((luma * data[i + 3]!) / 255);
  }
  return { input: data, raw: { width: mask.width, height: mask.height, channels: 4 }, blend: 'dest-in' };
}

/** One composite of `layers` in the builder's slot; an image that stays opaque keeps 3 bands. */
async function composite(ctx: RenderContext, layers: OverlayOptions[]): Promise<void> {
  const { builder } = ctx;
  const opaque = !builder.hasAlpha;
  await builder.add({
    slots: ['composite'],
    from: STAGE.composite,
    apply: (image) => {
      image.composite(layers);
      return opaque ? image.removeAlpha() : image;
    },
  });
}

/** Plain rectangular border: top and bottom bands full width, the sides between them (no overlaps). */
function bands(size: Size, border: RenderContext['border'], color: Rgba): OverlayOptions[] {
  const background = toSharpColor(color);
  const band = (left: number, top: number, width: number, height: number): OverlayOptions[] =>
    width > 0 && height > 0 ? [{ input: { create: { width, height, channels: 4, background } }, left, top }] : [];
  const middle = size.height - border.top - border.bottom;
  return [
    ...band(0, 0, size.width, Math.min(border.top, size.height)),
    ...band(0, size.height - border.bottom, size.width, Math.min(border.bottom, size.height)),
    ...band(0, border.top, Math.min(border.left, size.width), middle),
    ...band(size.width - border.right, border.top, Math.min(border.right, size.width), middle),
  ];
}

/**
 * Radii scaled down together when adjacent ones add up to more than their side, as CSS does, so that the
 * shape stays a rounded rectangle whatever was asked.
 */
export function fitRadii(radii: Corners | readonly number[], size: Size): Corners {
  const [tl, tr, br, bl] = radii as Corners;
  const ratio = (side: number, sum: number) => (sum > 0 ? side / sum : Infinity);
  const k = Math.min(1, ratio(size.width, tl + tr), ratio(size.width, bl + br), ratio(size.height, tl + bl), ratio(size.height, tr + br));
  return [tl * k, tr * k, br * k, bl * k];
}

/** SVG path of a rectangle at (x, y) with corner radii (top-left first, clockwise); zero radii are square. */
function roundedRect(x: number, y: number, size: Size, [tl, tr, br, bl]: Corners): string {
  const { width: w, height: h } = size;
  const arc = (r: number, toX: number, toY: number) => (r > 0 ? `A${r} ${r} 0 0 1 ${toX} ${toY}` : `L${toX} ${toY}`);
  return [
    `M${x + tl} ${y}`,
    `H${x + w - tr}`, arc(tr, x + w, y + tr),
    `V${y + h - br}`, arc(br, x + w - br, y + h),
    `H${x + bl}`, arc(bl, x, y + h - bl),
    `V${y + tl}`, arc(tl, x + tl, y),
    'Z',
  ].join(' ');
}

function svg(size: Size, body: string): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}" viewBox="0 0 ${size.width} ${size.height}">${body}</svg>`);
}

function svgFill(color: Rgba): string {
  return `fill="rgb(${color.r},${color.g},${color.b})" fill-opacity="${(color.a / 255).toFixed(4)}"`;
}
