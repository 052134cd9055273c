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
import { layerMargin, paintText, type TextLook } from '../text/effects.ts';
import { resolveFont } from '../text/font-names.ts';
import { useBundledFonts } from '../text/fonts.ts';
import { layoutText, maskBound, type ClipPosition, type Exec, type TextBox, type TextStyle } from '../text/layout.ts';
import { TEXT_DEFAULTS } from '../text-params.ts';
import type { RenderParams } from '../render-params.ts';
import type { RenderContext } from './context.ts';
import type { Size } from '../geometry.ts';
import { drawOver, placeOverlay, visiblePart } from './overlay.ts';

const WHITE = { r: 255, g: 255, b: 255, a: 255 };

export async function textStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const base = { width: builder.width, height: builder.height };
  const plan = planText(params, base);
  if (!plan) return;
  const exec = (image: Parameters<typeof builder.exec>[0]) => builder.exec(image);
  const mask = await layoutText(plan.text, plan.style, plan.box, plan.clip, exec);
  if (!mask) return;

  const { left, top } = placeOverlay(mask, base, params['txt-align'] ?? TEXT_DEFAULTS.align, plan.pad, plan.x, plan.y);
  // Only the part of the layer (the ink, its outline and shadow) that lands on the image is painted.
  const margin = layerMargin(plan.look);
  const layer = { width: mask.width + 2 * margin, height: mask.height + 2 * margin };
  const visible = visiblePart(layer, left - margin, top - margin, base);
  if (!visible) return;
  const window = { ...visible, left: visible.left - (left - margin), top: visible.top - (top - margin) };
  const { image } = await paintText(mask, plan.look, exec, window);
  await drawOver(ctx, image, visible.left, visible.top);
}

/** What the text step draws, before anything is drawn: the text, its style and box, the padding and the look. */
export interface TextPlan {
  text: string;
  style: TextStyle;
  box: TextBox;
  clip: Parameters<typeof layoutText>[3];
  pad: number;
  x: number | undefined;
  y: number | undefined;
  look: TextLook;
}

/**
 * The text's box: `txt-width` wide (default: the image's width less `txt-pad` on both sides, never wider than
 * the image), the image's height less the padding tall. Undefined when there is no text or no room for it.
 */
export function planText(params: RenderParams, base: Size): TextPlan | undefined {
  const text = params.txt;
  if (text === undefined) return undefined;
  useBundledFonts();
  const scale = params.dpr ?? 1;
  const px = (value: number) => value * scale;
  const pad = Math.round(px(params['txt-pad'] ?? TEXT_DEFAULTS.pad));
  const boxWidth = Math.min(base.width, Math.round(params['txt-width'] !== undefined ? px(params['txt-width']) : base.width - 2 * pad));
  const boxHeight = base.height - 2 * pad;
  if (boxWidth < 1 || boxHeight < 1) return undefined; // the padding leaves no room
  const clip = params['txt-clip'];
  return {
    text,
    style: { font: resolveFont((params['txt-font'] ?? ['sans-serif']).join(',')), size: px(params['txt-size'] ?? TEXT_DEFAULTS.size), track: px(params['txt-track'] ?? 0) },
    box: { width: boxWidth, height: boxHeight, maxHeight: base.height },
    clip: params['txt-fit'] === 'max' ? 'fit' : { position: (clip?.[0] ?? 'end') as ClipPosition, ellipsis: clip?.[1] === 'ellipsis' },
    pad,
    x: params['txt-x'] === undefined ? undefined : Math.round(px(params['txt-x'])),
    y: params['txt-y'] === undefined ? undefined : Math.round(px(params['txt-y'])),
    look: look(params, px),
  };
}

/** The text layer's largest extent (text/layout.ts `maskBound`) and what grows it: for the estimate (layer-cost.ts). */
export interface TextExtent {
  /** The ink mask, at most. */
  width: number;
  height: number;
  /** Pixels of outline and shadow around it on each side. */
  margin: number;
  shadow: boolean;
  outline: boolean;
  /** The text may come out wider than its box: its drawing is then cut to the box (a copy). */
  cut: boolean;
}

/** Measures the text of `params` on an image of `base` at a small size; undefined when nothing would be drawn. */
export async function textExtent(params: RenderParams, base: Size, exec: Exec): Promise<TextExtent | undefined> {
  const plan = planText(params, base);
  if (!plan) return undefined;
  const mask = await maskBound(plan.text, plan.style, plan.box, plan.clip, exec);
  if (!mask) return undefined;
  const { look } = plan;
  return { ...mask, margin: layerMargin(look), shadow: look.shadow !== undefined, outline: look.outline !== undefined };
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
