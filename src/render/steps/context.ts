/**
 * What every render step sees: the parameters, the pipeline builder, the chosen output and the colour
 * used wherever the render creates new pixels (padding, fill, rotated corners).
 */
import { flattenOver, TRANSPARENT, WHITE, type Rgba } from '../colors.ts';
import type { Padding } from '../render-params.ts';
import type { PipelineBuilder } from '../builder.ts';
import type { OutputLimits } from '../geometry.ts';
import type { OutputPlan } from '../encode.ts';
import type { RenderParams } from '../render-params.ts';
import type { DetectedFaces } from './faces.ts';

export interface RenderContext {
  readonly params: RenderParams;
  readonly builder: PipelineBuilder;
  readonly output: OutputPlan;
  readonly limits: OutputLimits;
  /** Padding to add in the canvas step, after the planner scaled it for the output cap. */
  padding: Padding;
  /** Border widths (outside the padding), scaled like it. */
  border: Padding;
  /** Encoded `mark` / image `blend` / image `mask` fetched by the delivery layer; a layer whose buffer is missing is skipped. */
  readonly subImages?: { mark?: Buffer; blend?: Buffer; mask?: Buffer };
  /** Pixel limit for decoding sub-images (the same as for the source). */
  readonly maxInputPixels: number;
  /** Faces found before the resize (face steps), in the coordinates of the image as it was then. */
  faces?: DetectedFaces;
}

export type RenderStep = (ctx: RenderContext) => Promise<void>;

/**
 * Colour for pixels the render creates (padding, pivot-rotation corners). imgix's `bg` defaults to
 * transparent. Without alpha in the output it is bg over white — the same colour the final flatten uses,
 * so the two agree whatever runs first. With alpha, an opaque bg is painted directly (the flatten may run
 * earlier in sharp's order), while a translucent bg is left transparent here and composited under the
 * whole image once, at the end (otherwise padding would get it twice).
 */
export function canvasColor(ctx: RenderContext): Rgba {
  const bg = ctx.params.bg ?? TRANSPARENT;
  if (!ctx.output.alpha) return flattenOver(bg, WHITE);
  return bg.a === 255 ? bg : TRANSPARENT;
}

/** A colour as it will look in this output: unchanged when the output has alpha, else flattened onto white. */
export function paint(ctx: RenderContext, color: Rgba): Rgba {
  return ctx.output.alpha ? color : flattenOver(color, WHITE);
}
