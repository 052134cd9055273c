/**
 * imgix `mark`: a watermark image composited over the result (after blend, before bg/flatten and encode).
 *
 * - Size: `mark-scale` (percent of the base width; wins over mark-w/h), else `mark-w`/`mark-h` (pixels, or a
 *   fraction of the base's side) with `mark-fit` (clip by default; crop, fill = transparent letterbox, max,
 *   scale), else the mark's own size. Whatever results is shrunk to fit inside the base — including the
 *   bounding box of a rotated mark — so sharp never sees an overlay larger than the base.
 * - Placement: `mark-align` (default bottom,right; top,left when tiled), `mark-pad` pixels from the aligned
 *   edges (default 5), or `mark-x`/`mark-y` from the top-left (each overrides align and pad on its axis).
 * - `mark-alpha` multiplies the alpha band; `mark-rot` rotates counter-clockwise with transparent corners
 *   and no zoom (imgix docs); `mark-tile=grid` repeats it (see tileMark).
 * - `mark-if-min-width`/`-height`: drawn only when the base is at least that large.
 * - Pixel values are not multiplied by `dpr`, like `pad` (whether imgix does is UNCONFIRMED).
 */
import type { Gravity, Size } from '../geometry.ts';
import { MARK_ALIGN, MARK_PAD, MARK_TILE_ALIGN } from '../sub-image-params.ts';
import type { RenderParams } from '../render-params.ts';
import type { RawRgba } from '../blend-modes.ts';
import type { RenderContext } from './context.ts';
import {
  clipToBase, compositeLayer, cropRaw, drawOver, loadOverlay, loadPlacedOverlay, placeOverlay, planBox, scaleAlpha, shrinkToFit, sideOf, type OverlayResize,
  type PlacedOverlay,
} from './overlay.ts';

export async function markStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const buffer = ctx.subImages?.mark;
  if (params.mark === undefined || buffer === undefined) return; // no buffer: the delivery layer decided to skip it
  const base: Size = { width: builder.width, height: builder.height };
  if (base.width < (params['mark-if-min-width'] ?? 0) || base.height < (params['mark-if-min-height'] ?? 0)) return;

  const rotate = params['mark-rot'];
  const tile = params['mark-tile'] === 'grid';
  const align = params['mark-align'] ?? (tile ? MARK_TILE_ALIGN : MARK_ALIGN);
  const pad = params['mark-pad'] ?? MARK_PAD;
  const place = (size: Size) => placeOverlay(size, base, align, pad, params['mark-x'], params['mark-y']);
  const alpha = (params['mark-alpha'] ?? 100) / 100;
  if (!tile && rotate === undefined) {
    // Only the part of the mark inside the image is decoded.
    const visible = await loadPlacedOverlay(ctx, 'mark', buffer, base, (source) => markPlan(source, base, params), place);
    if (!visible) return;
    scaleAlpha(visible.image, alpha);
    await compositeMark(ctx, visible);
    return;
  }
  let mark = await loadOverlay(ctx, 'mark', buffer, (source) => ({
    resize: markPlan(source, base, params),
    ...(rotate === undefined ? {} : { rotate }),
  }));
  // libvips may round a rotated canvas one pixel beyond the predicted bounds.
  if (mark.width > base.width || mark.height > base.height) {
    mark = cropRaw(mark, 0, 0, Math.min(mark.width, base.width), Math.min(mark.height, base.height));
  }
  scaleAlpha(mark, alpha);
  const { left, top } = place(mark);
  if (tile) {
    await tileMark(ctx, mark, left, top, pad, base);
    return;
  }
  const visible = clipToBase(mark, left, top, base);
  if (visible) await compositeMark(ctx, visible);
}

async function compositeMark(ctx: RenderContext, { image, left, top }: PlacedOverlay): Promise<void> {
  await drawOver(ctx, image, left, top);
}

/**
 * The mark's size: mark-scale, else mark-w/mark-h with mark-fit, else its own; always shrunk to fit inside
 * the base, rotation (mark-rot) included.
 */
export function markPlan(source: Size, base: Size, params: RenderParams): OverlayResize {
  return shrinkToFit(markResize(source, base, params), source, base, params['mark-rot']);
}

function markResize(source: Size, base: Size, params: RenderParams): OverlayResize {
  const scale = params['mark-scale'];
  if (scale !== undefined) {
    // Percent of the base image's width; the height follows the mark's aspect ratio.
    return planBox(source, Math.max(1, Math.round((base.width * scale) / 100)), undefined, 'clip');
  }
  const width = sideOf(params['mark-w'], base.width);
  const height = sideOf(params['mark-h'], base.height);
  return planBox(source, width, height, params['mark-fit'] ?? 'clip', 'centre' satisfies Gravity);
}

/**
 * mark-tile=grid: imgix places the single mark, then "tiles it in a grid pattern around" it. The grid cell
 * is the mark plus `mark-pad` transparent pixels to its right and below (the gap between copies; UNCONFIRMED
 * against imgix), phased so that one copy sits exactly where the single mark would. sharp's `tile` repeats
 * a cell from the top-left corner, so the cell is first rolled by the phase.
 */
async function tileMark(ctx: RenderContext, mark: RawRgba, left: number, top: number, gap: number, base: Size): Promise<void> {
  const width = Math.min(base.width, mark.width + gap);
  const height = Math.min(base.height, mark.height + gap);
  const phaseX = ((left % width) + width) % width;
  const phaseY = ((top % height) + height) % height;
  const cell = Buffer.alloc(width * height * 4); // transparent
  const copyWidth = Math.min(mark.width, width);
  const firstRun = Math.min(copyWidth, width - phaseX); // pixels before the row wraps around
  for (let y = 0; y < Math.min(mark.height, height); y++) {
    const from = y * mark.width * 4;
    const row = ((y + phaseY) % height) * width * 4;
    mark.data.copy(cell, row + phaseX * 4, from, from + firstRun * 4);
    if (firstRun < copyWidth) mark.data.copy(cell, row, from + firstRun * 4, from + copyWidth * 4);
  }
  await compositeLayer(ctx, {
    input: cell,
    raw: { width, height, channels: 4 },
    tile: true,
    gravity: 'northwest',
    blend: 'over',
  });
}
