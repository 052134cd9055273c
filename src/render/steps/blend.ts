/**
 * imgix `blend`: a colour or an image blended onto the result with `blend-mode` (default overlay), after
 * stylize/pad and before the watermark.
 *
 * - Colour (`blend-color`, or `blend=<colour>`): covers the whole image; its ARGB alpha times `blend-alpha`.
 *   imgix: fit, size, crop, align and position do not apply to colours.
 * - Image: sized by `blend-w`/`blend-h` (pixels, or a fraction of the base's side) with `blend-fit` (clip by
 *   default; clamp, crop with `blend-crop`, max, scale), or `blend-size=inherit` (covers the base exactly —
 *   an approximation of "inherits the base's w, h, fit and crop": the crop gravity is blend-crop, else the
 *   base's directional `crop`, else centre). Without either it keeps its own size: a blend larger than the
 *   base is clipped, not shrunk (imgix recommends blend-size=inherit for that case).
 * - Placement: `blend-align` (default centre,middle — imgix docs), `blend-pad` from the aligned edges,
 *   `blend-x`/`blend-y` from the top-left (each overrides align and pad on its axis).
 * - `blend-alpha` multiplies the overlay's alpha. Modes: see blend-modes.ts (all 16 are exact W3C maths;
 *   sharp composites when libvips is exact, the rest is a raw per-pixel pass).
 */
import type { Gravity, Size } from '../geometry.ts';
import type { CropMode, RenderParams } from '../render-params.ts';
import { BLEND_ALIGN } from '../sub-image-params.ts';
import type { RenderContext } from './context.ts';
import { blendOnto, isOpaque, loadPlacedOverlay, placeOverlay, planBox, scaleAlpha, sideOf, type OverlayResize } from './overlay.ts';

export async function blendStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const mode = params['blend-mode'] ?? 'overlay';
  const alpha = (params['blend-alpha'] ?? 100) / 100;
  const color = params['blend-color'];
  if (color) {
    const a = Math.round(color.a * alpha);
    if (a > 0) await blendOnto(ctx, { kind: 'color', color: { ...color, a } }, mode, a === 255);
    return;
  }
  const buffer = ctx.subImages?.blend;
  if (params.blend === undefined || buffer === undefined) return; // no buffer: the delivery layer decided to skip it

  const base: Size = { width: builder.width, height: builder.height };
  const visible = await loadPlacedOverlay(ctx, 'blend', buffer, base, (source) => blendResize(source, base, params), (size) => blendPlace(size, base, params));
  if (!visible) return;
  scaleAlpha(visible.image, alpha);
  await blendOnto(ctx, { kind: 'image', ...visible }, mode, isOpaque(visible.image));
}

/** Where the blend image goes: the top-left corner with blend-size=inherit, else its alignment or position. */
export function blendPlace(size: Size, base: Size, params: RenderParams): { left: number; top: number } {
  if (params['blend-size'] === 'inherit') return { left: 0, top: 0 };
  return placeOverlay(size, base, params['blend-align'] ?? BLEND_ALIGN, params['blend-pad'] ?? 0, params['blend-x'], params['blend-y']);
}

/** The blend image's size: blend-size=inherit covers the base, else blend-w/blend-h with blend-fit (its own size without them). */
export function blendResize(source: Size, base: Size, params: RenderParams): OverlayResize {
  if (params['blend-size'] === 'inherit') {
    const crop = params['blend-crop'] ?? (params.fit === 'crop' ? params.crop : undefined);
    return planBox(source, base.width, base.height, 'crop', gravityOf(crop));
  }
  const width = sideOf(params['blend-w'], base.width);
  const height = sideOf(params['blend-h'], base.height);
  return planBox(source, width, height, params['blend-fit'] ?? 'clip', gravityOf(params['blend-crop']));
}

/** Directional crop keywords → sharp gravity; strategies (entropy, edges, focalpoint) fall back to centre. */
function gravityOf(crop: readonly CropMode[] | undefined): Gravity {
  const vertical = crop?.includes('top') ? 'north' : crop?.includes('bottom') ? 'south' : '';
  const horizontal = crop?.includes('left') ? 'west' : crop?.includes('right') ? 'east' : '';
  return ((vertical + horizontal) || 'centre') as Gravity;
}
