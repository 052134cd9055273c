/**
 * Last geometric and colour touches: padding, the transparency grid, `bg` behind transparent pixels (or the
 * flatten that JPEG needs), and the output-size cap.
 */
import { STAGE } from '../builder.ts';
import { GRID_COLORS, GRID_SIZE } from '../canvas-params.ts';
import { toSharpColor } from '../colors.ts';
import { canvasColor, paint, type RenderContext } from './context.ts';

/** pad / pad-* in `bg` (transparent by default; white-ish once flattened for JPEG). */
export async function padStep(ctx: RenderContext): Promise<void> {
  const { top, right, bottom, left } = ctx.padding;
  if (top + right + bottom + left === 0) return;
  const { builder } = ctx;
  const background = canvasColor(ctx);
  if (background.a < 255) builder.hasAlpha = true;
  await builder.add({
    slots: ['extend'],
    from: STAGE.extend,
    // Painted in the canvas colour, which is also what the final flatten uses: so it commutes with that.
    geometric: true,
    apply: (image) => image.extend({ top, right, bottom, left, background: toSharpColor(background) }),
  });
  builder.width += left + right;
  builder.height += top + bottom;
}

/**
 * transparency=grid: a checkerboard of `grid-size` squares (times dpr, as imgix documents) behind transparent
 * pixels, so the result is opaque. Images without alpha are left alone. It is laid under the image before
 * `bg`, so bg has nothing left to fill.
 */
export async function transparencyGridStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  if (params.transparency !== 'grid' || !builder.hasAlpha) return;
  const square = Math.max(1, Math.round((params['grid-size'] ?? GRID_SIZE) * (params.dpr ?? 1)));
  const [first, second] = (params['grid-colors'] ?? GRID_COLORS).map((color) => paint(ctx, color));
  // One period of the pattern (two squares each way), cut to the image: sharp tiles it from the top-left.
  const width = Math.min(builder.width, 2 * square);
  const height = Math.min(builder.height, 2 * square);
  const cell = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const color = (Math.floor(x / square) + Math.floor(y / square)) % 2 === 0 ? first! : second!;
      cell.set([color.r, color.g, color.b, color.a], (y * width + x) * 4);
    }
  }
  const opaque = first!.a === 255 && second!.a === 255;
  await builder.add({
    slots: ['composite'],
    from: STAGE.composite,
    apply: (image) => {
      image.composite([{ input: cell, raw: { width, height, channels: 4 }, tile: true, gravity: 'northwest', blend: 'dest-over' }]);
      return opaque ? image.removeAlpha() : image;
    },
  });
  builder.hasAlpha = !opaque;
}

/**
 * Transparent pixels get `bg`. Outputs without alpha are flattened onto the canvas colour (bg over white);
 * an opaque bg is the same flatten; a translucent bg on an alpha output is composited *under* the image.
 */
export async function backgroundStep(ctx: RenderContext): Promise<void> {
  const { builder, output, params } = ctx;
  if (!builder.hasAlpha) return;
  const bg = params.bg;
  if (!output.alpha || bg?.a === 255) {
    const color = canvasColor(ctx); // opaque in both cases
    const background = { r: color.r, g: color.g, b: color.b };
    await builder.add({
      slots: ['flatten'],
      from: STAGE.flatten,
      commutesWithGeometry: true,
      apply: (image) => image.flatten({ background }),
    });
    builder.hasAlpha = false;
    return;
  }
  if (!bg) return;
  const { width, height } = builder;
  const under = { create: { width, height, channels: 4 as const, background: toSharpColor(bg) } };
  await builder.add({
    slots: ['composite'],
    from: STAGE.composite,
    apply: (image) => image.composite([{ input: under, blend: 'dest-over' }]),
  });
}

/** Safety net: the planner already keeps the output within the limits; rounding must not break them. */
export async function capStep(ctx: RenderContext): Promise<void> {
  const { builder } = ctx;
  const { maxSide, maxPixels } = ctx.limits;
  if (builder.width <= maxSide && builder.height <= maxSide && builder.width * builder.height <= maxPixels) return;
  const k = Math.min(maxSide / builder.width, maxSide / builder.height, Math.sqrt(maxPixels / (builder.width * builder.height)));
  const width = Math.max(1, Math.floor(builder.width * k));
  const height = Math.max(1, Math.floor(builder.height * k));
  await builder.add({ slots: ['resize'], from: STAGE.resize, geometric: true, apply: (image) => image.resize(width, height, { fit: 'fill' }) });
  builder.width = width;
  builder.height = height;
}
