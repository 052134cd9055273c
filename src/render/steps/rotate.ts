/**
 * `flip` and `rot` (after the fit). imgix: `rot` "rotates the image within the existing frame" — the default
 * rot-type=straighten zooms in until no corner shows and keeps the frame size; rot-type=pivot rotates the
 * frame too, on a larger canvas filled with `bg`. Flips run before the rotation, as sharp does.
 */
import { STAGE } from '../builder.ts';
import { toSharpColor } from '../colors.ts';
import { straightenScale } from '../geometry.ts';
import { canvasColor, type RenderContext } from './context.ts';

export async function flipStep(ctx: RenderContext): Promise<void> {
  const flip = ctx.params.flip;
  if (!flip) return;
  await ctx.builder.add({
    slots: ['flip'],
    from: STAGE.rotate90,
    geometric: true,
    apply: (image) => {
      if (flip.includes('h')) image.flop(); // h: mirror left-right
      if (flip.includes('v')) image.flip(); // v: mirror top-bottom
      return image;
    },
  });
}

export async function rotateStep(ctx: RenderContext): Promise<void> {
  const angle = ctx.params.rot;
  if (angle === undefined) return;
  const { builder } = ctx;
  const frame = { width: builder.width, height: builder.height };
  const rightAngle = angle % 90 === 0;
  const pivot = ctx.params['rot-type'] === 'pivot';
  // straighten crops the corners away, so an opaque colour avoids adding an alpha channel for nothing.
  const background = pivot ? canvasColor(ctx) : { ...canvasColor(ctx), a: 255 };
  if (pivot && !rightAngle && background.a < 255) builder.hasAlpha = true;
  await builder.add({
    slots: ['rotate'],
    from: rightAngle ? STAGE.rotate90 : STAGE.rotate,
    geometric: true,
    apply: (image) => image.rotate(angle, { background: toSharpColor(background) }),
  });
  if (angle === 180) return;
  if (pivot) {
    if (rightAngle) [builder.width, builder.height] = [frame.height, frame.width];
    else await builder.materialize(); // libvips decides the rotated canvas size
    return;
  }
  // straighten: crop the largest centred frame-shaped box inside the rotated image, scale it back to the frame.
  await builder.materialize();
  const k = straightenScale(frame, angle);
  const inset = rightAngle ? 0 : 2; // stay clear of the anti-aliased edge of the rotated image
  const width = Math.max(1, Math.min(builder.width, Math.floor(frame.width * k) - inset));
  const height = Math.max(1, Math.min(builder.height, Math.floor(frame.height * k) - inset));
  const region = {
    left: Math.floor((builder.width - width) / 2),
    top: Math.floor((builder.height - height) / 2),
    width,
    height,
  };
  await builder.add({ slots: ['extractPre'], from: STAGE.extractPre, geometric: true, apply: (image) => image.extract(region) });
  await builder.add({
    slots: ['resize'],
    from: STAGE.resize,
    geometric: true,
    apply: (image) => image.resize(frame.width, frame.height, { fit: 'fill' }),
  });
  builder.width = frame.width;
  builder.height = frame.height;
}
