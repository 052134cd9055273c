/**
 * imgix `mask` and `border*`: shapes cut out of the image or drawn around it (rendering-notes §5 order:
 * mask → pad → border).
 *
 * - `mask=ellipse` stretches an ellipse over the image; `mask=corners` rounds its corners by `corner-radius`
 *   (default 20 % of the smaller side); `mask=<image>` keeps each pixel by the mask image's luminance times
 *   its alpha, the mask stretched to the image (imgix docs: white is kept, black hidden). The masked-out
 *   area is transparent, or `mask-bg`; outputs without alpha flatten it onto bg or white like any
 *   transparency. The mask applies to the fitted image (fill bars included), not to the padding.
 * - `border` is drawn outside the padding; the planner already made room for it inside the requested size.
 *   `border-radius` rounds the output's outer corners (transparent outside), `border-radius-inner` the edge
 *   between border and picture (the cut is filled with the border colour).
 * - `border-stroke-size`/`-color`: a line along the output's outer edge, following `border-radius`.
 *
 * Cutting a shape is an alpha mask, one band the size of the image: shapes are rasterised from SVG
 * (anti-aliased), and the mask becomes the alpha band (joinChannel) or multiplies the existing one. This
 * avoids sharp's composite, which works on the whole image in floating point and costs several times a
 * plain render; composites remain only for what adds colour inside the image (inner radius, stroke).
 */
import type { OverlayOptions } from 'sharp';
import sharp from 'sharp';
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
  let alpha: Buffer;
  if (mask === 'ellipse') {
    const { width: w, height: h } = size;
    alpha = await rasterise(ctx, size, `<ellipse cx="${w / 2}" cy="${h / 2}" rx="${w / 2}" ry="${h / 2}" fill="#fff"/>`);
  } else if (mask === 'corners') {
    const radii = params['corner-radius'] ?? Math.round(0.2 * Math.min(size.width, size.height));
    const corners = fitRadii(cornersOf(radii), size);
    if (corners.every((r) => r === 0)) return;
    alpha = await rasterise(ctx, size, `<path d="${roundedRect(0, 0, size, corners)}" fill="#fff"/>`);
  } else {
    const buffer = ctx.subImages?.mask;
    if (buffer === undefined) return; // the delivery layer could not fetch it: drawn without the mask, like mark
    alpha = await imageMask(ctx, buffer, size);
  }
  await applyAlpha(ctx, alpha);
  const bg = params['mask-bg'];
  if (bg) await underlay(ctx, paint(ctx, bg));
}

/** Border (outside the padding), its radii, and the outer-edge stroke. */
export async function borderStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const color = params.border?.[1];
  const { top, right, bottom, left } = ctx.border;
  if (color && top + right + bottom + left > 0) {
    const inner: Size = { width: builder.width, height: builder.height };
    await builder.add({
      slots: ['extend'],
      from: STAGE.extend,
      apply: (image) => image.extend({ top, right, bottom, left, background: toSharpColor(color) }),
    });
    builder.width += left + right;
    builder.height += top + bottom;
    if (color.a < 255) builder.hasAlpha = true;
    const innerRadii = fitRadii(cornersOf(params['border-radius-inner'] ?? 0), inner);
    if (innerRadii.some((r) => r > 0)) await composite(ctx, innerCorners(innerRadii, inner, left, top, color));
  }
  const size: Size = { width: builder.width, height: builder.height };
  const outer = fitRadii(cornersOf(params['border-radius'] ?? 0), size);
  const stroke = params['border-stroke-size'];
  const strokeColor = params['border-stroke-color'];
  if (stroke !== undefined && strokeColor) {
    const s = Math.min(stroke, Math.floor(Math.min(size.width, size.height) / 2));
    const inside: Size = { width: size.width - 2 * s, height: size.height - 2 * s };
    const hole = inside.width > 0 && inside.height > 0 ? roundedRect(s, s, inside, fitRadii(outer.map((r) => Math.max(0, r - s)), inside)) : '';
    const ring = `<path fill-rule="evenodd" d="${roundedRect(0, 0, size, outer)} ${hole}" ${svgFill(strokeColor)}/>`;
    if (s > 0) await composite(ctx, [{ input: svg(size, ring) }]);
  }
  if (outer.some((r) => r > 0)) await applyAlpha(ctx, await rasterise(ctx, size, `<path d="${roundedRect(0, 0, size, outer)}" fill="#fff"/>`));
}

/**
 * Makes `alpha` (one band, the image's size) the image's transparency: the alpha band of an opaque image,
 * or a factor on an existing one.
 */
async function applyAlpha(ctx: RenderContext, alpha: Buffer): Promise<void> {
  const { builder } = ctx;
  const { width, height } = builder;
  if (builder.hasAlpha) {
    await builder.transformPixels((data, info) => {
      if (info.channels !== 4) throw new Error(`applyAlpha: expected 4 bands, got ${info.channels}`);
      for (let i = 0; i < alpha.length; i++) data[i * 4 + 3] = Math.round((data[i * 4 + 3]! * alpha[i]!) / 255);
    });
    return;
  }
  // joinChannel appends a band as it is: a greyscale image must be made sRGB first (a grey + alpha pair
  // would not be read back as such), and sharp converts colourspaces only on output. An empty pixel pass
  // runs what is queued into sRGB pixels.
  await builder.transformPixels(() => undefined);
  await builder.add({
    slots: ['joinChannel'],
    from: STAGE.joinChannel,
    // sharp's composite miscounts the bands of an image whose alpha was joined in the same pipeline
    // ("images do not have same numbers of bands"): nothing may follow it there.
    to: STAGE.negate,
    apply: (image) => image.toColourspace('srgb').joinChannel(alpha, { raw: { width, height, channels: 1 } }),
  });
  builder.hasAlpha = true;
}

/** `color` behind every transparent pixel (mask-bg): a flatten when opaque, else a composite under. */
async function underlay(ctx: RenderContext, color: Rgba): Promise<void> {
  const { builder } = ctx;
  if (color.a === 255) {
    await builder.add({ slots: ['flatten'], from: STAGE.flatten, apply: (image) => image.flatten({ background: { r: color.r, g: color.g, b: color.b } }) });
    builder.hasAlpha = false;
    return;
  }
  const { width, height } = builder;
  await composite(ctx, [{ input: { create: { width, height, channels: 4, background: toSharpColor(color) } }, blend: 'dest-over' }]);
}

/** Luminance × alpha of the mask image, stretched to `size`, as one band. */
async function imageMask(ctx: RenderContext, buffer: Buffer, size: Size): Promise<Buffer> {
  const { data } = await loadOverlay(ctx, 'mask', buffer, () => ({ resize: { kind: 'scale', ...size } }));
  const alpha = Buffer.alloc(size.width * size.height);
  for (let i = 0; i < alpha.length; i++) {
    const p = i * 4;
    // Rec. 709 luma of the sRGB values: white keeps, black hides.
    const luma = 0.2126 * data[p]! + 0.7152 * data[p + 1]! + 0.0722 * data[p + 2]!;
    alpha[i] = Math.round((luma * data[p + 3]!) / 255);
  }
  return alpha;
}

/** The alpha band of an SVG drawing of `size`. */
async function rasterise(ctx: RenderContext, size: Size, body: string): Promise<Buffer> {
  const { data } = await ctx.builder.exec(sharp(svg(size, body)).ensureAlpha().extractChannel(3).raw());
  return data;
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

/** The parts of the picture's corners outside `radii`, painted in the border colour (border-radius-inner). */
function innerCorners([tl, tr, br, bl]: Corners, inner: Size, left: number, top: number, color: Rgba): OverlayOptions[] {
  const { width: w, height: h } = inner;
  // Each tile is r×r; its path is the square less the quarter disc centred on the tile's inner corner.
  const tile = (r: number, x: number, y: number, d: string): OverlayOptions[] => {
    const side = Math.ceil(r);
    if (side <= 0) return [];
    return [{ input: svg({ width: side, height: side }, `<path d="${d}" ${svgFill(color)}/>`), left: x, top: y }];
  };
  const right = left + w;
  const bottom = top + h;
  return [
    ...tile(tl, left, top, `M0 0 H${tl} A${tl} ${tl} 0 0 0 0 ${tl} Z`),
    ...tile(tr, right - Math.ceil(tr), top, `M${Math.ceil(tr)} 0 V${tr} A${tr} ${tr} 0 0 0 ${Math.ceil(tr) - tr} 0 Z`),
    ...tile(br, right - Math.ceil(br), bottom - Math.ceil(br), `M${Math.ceil(br)} ${Math.ceil(br)} H${Math.ceil(br) - br} A${br} ${br} 0 0 0 ${Math.ceil(br)} ${Math.ceil(br) - br} Z`),
    ...tile(bl, left, bottom - Math.ceil(bl), `M0 ${Math.ceil(bl)} V${Math.ceil(bl) - bl} A${bl} ${bl} 0 0 0 ${bl} ${Math.ceil(bl)} Z`),
  ];
}

/**
 * Radii scaled down together when adjacent ones add up to more than their side, as CSS does, so that the
 * shape stays a rounded rectangle whatever was asked.
 */
export function fitRadii(radii: readonly number[], size: Size): Corners {
  const [tl = 0, tr = 0, br = 0, bl = 0] = radii;
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
