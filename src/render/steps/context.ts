/**
 * What every render step sees: the parameters, the pipeline builder, the chosen output and the colour
 * used wherever the render creates new pixels (padding, fill, rotated corners).
 */
import { flattenOver, TRANSPARENT, WHITE, type Rgba } from '../colors.ts';
import type { Padding } from '../render-params.ts';
import type { PipelineBuilder } from '../builder.ts';
import type { OutputPlan } from '../encode.ts';
import type { RenderParams } from '../render-params.ts';

export interface RenderContext {
  readonly params: RenderParams;
  readonly builder: PipelineBuilder;
  readonly output: OutputPlan;
  readonly maxOutputSide: number;
  /** Padding to add in the canvas step, after the planner scaled it for the output cap. */
  padding: Padding;
}

export type RenderStep = (ctx: RenderContext) => Promise<void>;

/**
 * imgix's `bg` (default transparent). Outputs without alpha (JPEG, blurhash) get it composited over white
 * up front, so that new pixels and the final flatten agree.
 */
export function canvasColor(ctx: RenderContext): Rgba {
  return paint(ctx, ctx.params.bg ?? TRANSPARENT);
}

/** A colour as it will look in this output: unchanged when the output has alpha, else flattened onto white. */
export function paint(ctx: RenderContext, color: Rgba): Rgba {
  return ctx.output.alpha ? color : flattenOver(color, WHITE);
}
