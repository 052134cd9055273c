/**
 * imgix `txt`: one line of text drawn over the image, after `mark` (imgix: text is above watermarks and
 * blends) and before the background flatten and the encoder.
 *
 * - The box is `txt-width` wide (default: the image's width less `txt-pad` on both sides, never wider than
 *   the image) and the image's height less the padding tall. Too wide a text loses characters at the
 *   `txt-clip` position, or with `txt-fit=max` is drawn smaller (layout.ts).
 * - Placement: `txt-align` (default bottom,right) `txt-pad` pixels in from the aligned edges (default 10),
 *   or `txt-x`/`txt-y` from the top-left (each overrides align and pad on its axis). The text is placed by
 *   its ink, so the padding is measured to the visible letters.
 * - Every length (size, pad, width, outline, shadow, tracking, x, y) is multiplied by `dpr`, so a 2× image
 *   shows the same layout, sharper.
 */
import { paintText, type TextLook } from '../text/effects.ts';
import { resolveFont } from '../text/font-names.ts';
import { useBundledFonts } from '../text/fonts.ts';
import { layoutText, type ClipPosition } from '../text/layout.ts';
import { TEXT_DEFAULTS } from '../text-params.ts';
import type { RenderParams } from '../render-params.ts';
import type { RenderContext } from './context.ts';
import { clipToBase, compositeLayer, placeOverlay } from './overlay.ts';

const WHITE = { r: 255, g: 255, b: 255, a: 255 };

export async function textStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const text = params.txt;
  if (text === undefined) return;
  useBundledFonts();
  const scale = params.dpr ?? 1;
  const px = (value: number) => value * scale;
  const base = { width: builder.width, height: builder.height };
  const pad = Math.round(px(params['txt-pad'] ?? TEXT_DEFAULTS.pad));
  const boxWidth = Math.min(base.width, Math.round(params['txt-width'] !== undefined ? px(params['txt-width']) : base.width - 2 * pad));
  const boxHeight = base.height - 2 * pad;
  if (boxWidth < 1 || boxHeight < 1) return; // the padding leaves no room

  const exec = (image: Parameters<typeof builder.exec>[0]) => builder.exec(image);
  const clip = params['txt-clip'];
  const mask = await layoutText(
    text,
    { font: resolveFont((params['txt-font'] ?? ['sans-serif']).join(',')), size: px(params['txt-size'] ?? TEXT_DEFAULTS.size), track: px(params['txt-track'] ?? 0) },
    { width: boxWidth, height: boxHeight, maxHeight: base.height },
    params['txt-fit'] === 'max' ? 'fit' : { position: (clip?.[0] ?? 'end') as ClipPosition, ellipsis: clip?.[1] === 'ellipsis' },
    exec,
  );
  if (!mask) return;

  const layer = await paintText(mask, look(params, px), exec);
  const { left, top } = placeOverlay(mask, base, params['txt-align'] ?? TEXT_DEFAULTS.align, pad,
    params['txt-x'] === undefined ? undefined : Math.round(px(params['txt-x'])),
    params['txt-y'] === undefined ? undefined : Math.round(px(params['txt-y'])));
  const visible = clipToBase(layer.image, left - layer.margin, top - layer.margin, base);
  if (!visible) return;
  await compositeLayer(ctx, {
    input: visible.image.data,
    raw: { width: visible.image.width, height: visible.image.height, channels: 4 },
    left: visible.left,
    top: visible.top,
    blend: 'over',
  });
}

function look(params: RenderParams, px: (value: number) => number): TextLook {
  const out: TextLook = { color: params['txt-color'] ?? TEXT_DEFAULTS.color };
  const line = params['txt-line'];
  if (line !== undefined && Math.round(px(line)) >= 1) out.outline = { width: Math.round(px(line)), color: params['txt-line-color'] ?? WHITE };
  const strength = params['txt-shad'];
  // imgix gives no formula for its 0–10 strength: a soft shadow that grows darker, wider and further away.
  if (strength !== undefined) out.shadow = { sigma: px(0.5 * strength), offset: Math.ceil(px(0.2 * strength)), opacity: Math.min(1, 0.3 + 0.05 * strength) };
  return out;
}
