/**
 * Source geometry, in imgix's order: orientation override → trim → rect → fit/resize (w, h, dpr, ar,
 * min/max, crop, fill). EXIF auto-orientation itself is a constructor option (see pipeline.ts).
 */
import type { Sharp } from 'sharp';
import { STAGE } from '../builder.ts';
import { toSharpColor } from '../colors.ts';
import { planGeometry, resolveRect, type Region, type ResizePlan } from '../geometry.ts';
import { alphaBox, borderBox, colorBox, padBox, topLeftColor } from '../trim.ts';
import { TRIM_MEAN_DIFFERENCE, TRIM_STANDARD_DEVIATION, TRIM_TOLERANCE } from '../trim-params.ts';
import { paint, type RenderContext } from './context.ts';
import { applyGradientFill } from './gradient-fill.ts';

/**
 * `orient` replaces the file's EXIF orientation (the pipeline then skips autoOrient). sharp applies flips
 * before rotations, so the mirrored orientations are expressed as flop + rotation: 5 = transpose, 7 = transverse.
 */
const EXIF_TRANSFORMS: Record<number, { flop?: boolean; flip?: boolean; angle?: number }> = {
  2: { flop: true },
  3: { angle: 180 },
  4: { flip: true },
  5: { flop: true, angle: 270 },
  6: { angle: 90 },
  7: { flop: true, angle: 90 },
  8: { angle: 270 },
};

export async function orientStep(ctx: RenderContext): Promise<void> {
  const transform = ctx.params.orient === undefined ? undefined : EXIF_TRANSFORMS[ctx.params.orient];
  if (!transform) return;
  const { builder } = ctx;
  await builder.add({
    slots: ['rotate', 'flip'],
    from: STAGE.orient,
    geometric: true,
    apply: (image) => {
      if (transform.flop) image.flop();
      if (transform.flip) image.flip();
      return transform.angle ? image.rotate(transform.angle) : image;
    },
  });
  if (transform.angle === 90 || transform.angle === 270) {
    [builder.width, builder.height] = [builder.height, builder.width];
  }
}

/**
 * trim: the box to keep is found on the raw pixels (trim.ts), then cut out like `rect`. trim-pad keeps that
 * many more source pixels around it (or cuts that many more, when negative); it never adds new ones.
 */
export async function trimStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  const mode = params.trim;
  if (!mode) return;
  let box: Region | undefined;
  // The box is only known from the pixels, and everything after depends on it.
  await builder.transformPixels((data, info) => {
    const image = { data, width: info.width, height: info.height, channels: info.channels };
    if (mode === 'auto') {
      box = borderBox(image, params['trim-md'] ?? TRIM_MEAN_DIFFERENCE, params['trim-sd'] ?? TRIM_STANDARD_DEVIATION);
    } else if (mode === 'alpha' || (mode === 'colorunlessalpha' && image.channels === 4)) {
      box = alphaBox(image);
    } else {
      box = colorBox(image, params['trim-color'] ?? topLeftColor(image), params['trim-tol'] ?? TRIM_TOLERANCE);
    }
  });
  if (!box) return;
  const region = params['trim-pad'] === undefined ? box : padBox(box, params['trim-pad'], builder);
  await builder.add({ slots: ['extractPre'], from: STAGE.extractPre, geometric: true, apply: (image) => image.extract(region) });
  builder.width = region.width;
  builder.height = region.height;
}

/** rect is cut from the (oriented, trimmed) source before any resizing. */
export async function rectStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  if (!params.rect) return;
  const region = resolveRect(params.rect, builder);
  if (region.left === 0 && region.top === 0 && region.width === builder.width && region.height === builder.height) return;
  await builder.add({ slots: ['extractPre'], from: STAGE.extractPre, geometric: true, apply: (image) => image.extract(region) });
  builder.width = region.width;
  builder.height = region.height;
}

export async function resizeStep(ctx: RenderContext): Promise<void> {
  const { builder } = ctx;
  const plan = planGeometry(builder, ctx.params, ctx.limits, ctx.faces?.faces);
  ctx.padding = plan.padding;
  ctx.border = plan.border;
  await applyResize(ctx, plan.resize);
}

async function applyResize(ctx: RenderContext, plan: ResizePlan): Promise<void> {
  const { builder } = ctx;
  switch (plan.kind) {
    case 'none':
      return;
    case 'scale':
      await builder.add(resizeOp((image) => image.resize(plan.width, plan.height, { fit: 'fill' })));
      break;
    case 'cover':
      await builder.add(resizeOp((image) => image.resize(plan.width, plan.height, { fit: 'cover', position: plan.position }), STAGE.embed));
      break;
    case 'focal':
      await builder.add({ slots: ['extractPre'], from: STAGE.extractPre, geometric: true, apply: (image) => image.extract(plan.region) });
      await builder.add(resizeOp((image) => image.resize(plan.width, plan.height, { fit: 'fill' })));
      break;
    case 'contain':
      await applyContain(ctx, plan);
      break;
  }
  builder.width = plan.width;
  builder.height = plan.height;
}

async function applyContain(ctx: RenderContext, plan: Extract<ResizePlan, { kind: 'contain' }>): Promise<void> {
  const { builder } = ctx;
  const { width, height, inner, fill } = plan;
  const left = Math.floor((width - inner.width) / 2);
  const top = Math.floor((height - inner.height) / 2);
  if (fill === 'edges') {
    // fit=clamp: the border repeats the image's edge pixels.
    await builder.add(resizeOp((image) => image.resize(inner.width, inner.height, { fit: 'fill' })));
    await builder.add({
      slots: ['extend'],
      from: STAGE.extend,
      geometric: true,
      apply: (image) => image.extend({ top, left, bottom: height - inner.height - top, right: width - inner.width - left, extendWith: 'copy' }),
    });
    return;
  }
  if (fill === 'gradient') {
    await applyGradientFill(ctx, plan);
    return;
  }
  if (fill === 'blur') {
    // fill=blur: the image, contained, over a blurred copy that covers the box.
    const foreground = await builder.branch((image) => image.resize(inner.width, inner.height, { fit: 'fill' }));
    const sigma = Math.min(100, Math.max(4, Math.max(width, height) / 40));
    await builder.add(resizeOp((image) => image.resize(width, height, { fit: 'cover' }), STAGE.embed));
    await builder.add({ slots: ['blur'], from: STAGE.blur, apply: (image) => image.blur(sigma) });
    const { info } = foreground;
    await builder.add({
      slots: ['composite'],
      from: STAGE.composite,
      apply: (image) =>
        image.composite([{ input: foreground.data, raw: { width: info.width, height: info.height, channels: info.channels }, left, top }]),
    });
    return;
  }
  const color = paint(ctx, fill);
  if (color.a < 255) builder.hasAlpha = true;
  // sharp's contain embeds in the resize slot (no extend), so pad can still join this pipeline;
  // withoutEnlargement keeps fillmax's image at its own size while still padding to the full box.
  const background = toSharpColor(color);
  await builder.add({
    ...resizeOp((image) => image.resize(width, height, { fit: 'contain', background, withoutEnlargement: !plan.enlarge }), STAGE.embed),
    // A translucent fill must still get bg composited under it, so a flatten cannot be moved before it.
    geometric: color.a === 255,
  });
}

function resizeOp(apply: (image: Sharp) => Sharp, to: number = STAGE.resize) {
  return { slots: ['resize'] as const, from: STAGE.resize, to, geometric: true, apply };
}
