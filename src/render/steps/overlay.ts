/**
 * Shared machinery for the sub-image layers (mark, blend, image masks): decode and size a sub-image into raw RGBA,
 * place it, clip it to the base, and composite it through the PipelineBuilder.
 *
 * Overlays are prepared in their own small sharp pipeline and handed to the base pipeline as raw pixels that
 * always lie inside the base: sharp throws for an overlay larger than the base (rendering-notes §2.7), and
 * clipping here keeps every composite in bounds. Output dimensions never change.
 */
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { isPictorError, PictorError } from '../../errors.ts';
import { STAGE } from '../builder.ts';
import { toSharpColor } from '../colors.ts';
import { blendPixels, SHARP_BLEND, sharpIsExact, type BlendSource, type RawRgba } from '../blend-modes.ts';
import { sampleBytesOf } from '../decode-cost.ts';
import { rotatedBounds, type Gravity, type Size } from '../geometry.ts';
import type { Align, BlendMode } from '../render-params.ts';
import { mapSharpError } from '../sharp-errors.ts';
import type { RenderContext } from './context.ts';

const TRANSPARENT = { r: 0, g: 0, b: 0, alpha: 0 };

/** How the sub-image is brought to its size, in the spirit of geometry.ts' ResizePlan. */
export type OverlayResize =
  | { kind: 'none' }
  /** Resample to exactly this size (clip, max, scale). */
  | { kind: 'scale'; width: number; height: number }
  /** Cover the box and crop it (fit=crop, blend-size=inherit). */
  | { kind: 'cover'; width: number; height: number; position: Gravity }
  /** Fit `inner` inside the box, the rest transparent (mark-fit=fill) or repeated edge pixels (blend-fit=clamp). */
  | { kind: 'contain'; width: number; height: number; inner: Size; fill: 'transparent' | 'edges' };

export type OverlayFit = 'clip' | 'crop' | 'fill' | 'max' | 'scale' | 'clamp';

/**
 * A `mark-w`/`blend-w`-style value as pixels: an integer ≥ 2 is pixels, a value in (0, 1] a fraction of the
 * base image's side. (imgix's current mark-w page calls the fraction "a ratio to the source width of the
 * watermark"; Pictor follows its brief — a fraction of the base — in this one place.)
 */
export function sideOf(value: number | undefined, baseSide: number): number | undefined {
  if (value === undefined) return undefined;
  return Math.max(1, Math.round(value <= 1 ? value * baseSide : value));
}

/** The resize for a box (either side optional) and a fit mode, from the sub-image's own size. */
export function planBox(source: Size, tw: number | undefined, th: number | undefined, fit: OverlayFit, position: Gravity = 'centre'): OverlayResize {
  if (tw === undefined && th === undefined) return { kind: 'none' };
  if (tw === undefined || th === undefined) {
    // One side: the other follows the aspect ratio; every mode but max behaves like clip.
    const scale = tw !== undefined ? tw / source.width : th! / source.height;
    if (fit === 'max' && scale >= 1) return { kind: 'none' };
    return scaleTo(source, tw ?? Math.max(1, Math.round(source.width * scale)), th ?? Math.max(1, Math.round(source.height * scale)));
  }
  switch (fit) {
    case 'scale':
      return scaleTo(source, tw, th);
    case 'crop':
      return { kind: 'cover', width: tw, height: th, position };
    case 'fill':
    case 'clamp': {
      const inner = inside(source, tw, th, true);
      if (inner.width === tw && inner.height === th) return scaleTo(source, tw, th);
      return { kind: 'contain', width: tw, height: th, inner, fill: fit === 'fill' ? 'transparent' : 'edges' };
    }
    default: {
      const size = inside(source, tw, th, fit !== 'max');
      return scaleTo(source, size.width, size.height);
    }
  }
}

export function resizedSize(plan: OverlayResize, source: Size): Size {
  return plan.kind === 'none' ? source : { width: plan.width, height: plan.height };
}

/**
 * Scales a plan down so that the result — after rotating it by `degrees`, if any — fits inside `box`
 * (a watermark larger than the base is shrunk, never composited oversize).
 */
export function shrinkToFit(plan: OverlayResize, source: Size, box: Size, degrees = 0): OverlayResize {
  const size = resizedSize(plan, source);
  const bounds = degrees ? rotatedBounds(size, degrees) : size;
  const k = Math.min(1, box.width / bounds.width, box.height / bounds.height);
  if (k >= 1) return plan;
  const s = (v: number) => Math.max(1, Math.floor(v * k));
  switch (plan.kind) {
    case 'none':
    case 'scale':
      return { kind: 'scale', width: s(size.width), height: s(size.height) };
    case 'cover':
      return { ...plan, width: s(plan.width), height: s(plan.height) };
    case 'contain':
      return { ...plan, width: s(plan.width), height: s(plan.height), inner: { width: s(plan.inner.width), height: s(plan.inner.height) } };
  }
}

/** What a sub-image's header tells before any pixel is decoded: enough to plan and cost its decoding (cost.ts). */
export interface SubImageHeader {
  format: string;
  /** Oriented size (EXIF orientation applied). */
  width: number;
  height: number;
  channels: number;
  /** Bytes per sample: 1 for 8-bit images, 2 for 16-bit ones (sharp's `ushort`), 4 for float TIFFs. */
  sampleBytes: number;
  /** Progressive JPEG or interlaced PNG: decoded whole. */
  progressive: boolean;
  /** The encoded file. */
  bytes: number;
}

/** Reads a sub-image's header (no pixels); over the input pixel limit is INPUT_TOO_LARGE, unreadable UNSUPPORTED_IMAGE. */
export async function readSubImageHeader(label: 'mark' | 'blend' | 'mask', buffer: Buffer, maxInputPixels: number): Promise<SubImageHeader> {
  return named(label, async () => {
    const meta = await sharp(buffer, { limitInputPixels: false }).metadata();
    const { width, height } = meta.autoOrient;
    if (width * height > maxInputPixels) {
      throw new PictorError('INPUT_TOO_LARGE', `The ${label} image is ${width}×${height} pixels, more than the limit of ${maxInputPixels}`, { pointer: label });
    }
    return {
      format: String(meta.format),
      width,
      height,
      channels: meta.channels,
      sampleBytes: sampleBytesOf(meta.depth),
      progressive: meta.isProgressive === true,
      bytes: buffer.length,
    };
  });
}

/**
 * Decodes `buffer` (any format sharp reads; EXIF-oriented, first frame), sizes it with the plan that
 * `planFor` returns for its oriented size, rotates it counter-clockwise by `rotate` degrees (imgix's
 * mark-rot direction, transparent corners), and returns 8-bit RGBA. Decode failures name the layer.
 */
export async function loadOverlay(
  ctx: RenderContext,
  label: 'mark' | 'blend' | 'mask',
  buffer: Buffer,
  planFor: (source: Size) => { resize: OverlayResize; rotate?: number },
): Promise<RawRgba> {
  const source = await readSubImageHeader(label, buffer, ctx.maxInputPixels);
  const { resize, rotate } = planFor(source);
  return named(label, async () => {
    const image = sharp(buffer, { limitInputPixels: ctx.maxInputPixels, failOn: 'error', autoOrient: true });
    applyResize(image, resize);
    // sharp rotates clockwise for positive angles; imgix's mark-rot is counter-clockwise.
    if (rotate) image.rotate(-rotate, { background: TRANSPARENT });
    return rawRgba(ctx, image);
  });
}

/**
 * Decodes `buffer` sized by the plan `planFor` returns and placed where `place` puts it, keeping only the
 * part inside `base`: the rest is never decoded into raw pixels (a blend larger than the image keeps its
 * own size and would otherwise be held whole, then copied once more to clip it). Undefined when no part of
 * it is inside.
 */
export async function loadPlacedOverlay(
  ctx: RenderContext,
  label: 'mark' | 'blend',
  buffer: Buffer,
  base: Size,
  planFor: (source: Size) => OverlayResize,
  place: (size: Size) => { left: number; top: number },
): Promise<PlacedOverlay | undefined> {
  const source = await readSubImageHeader(label, buffer, ctx.maxInputPixels);
  const resize = planFor(source);
  const size = resizedSize(resize, source);
  const { left, top } = place(size);
  const part = visiblePart(size, left, top, base);
  if (!part) return undefined;
  const whole = part.width === size.width && part.height === size.height;
  // sharp extends the edges (blend-fit=clamp) after a post-resize extract, not before: clipped once decoded.
  const extendsEdges = resize.kind === 'contain' && resize.fill === 'edges';
  const image = await named(label, async () => {
    const pipeline = sharp(buffer, { limitInputPixels: ctx.maxInputPixels, failOn: 'error', autoOrient: true });
    applyResize(pipeline, resize);
    if (!whole && !extendsEdges) pipeline.extract({ left: part.left - left, top: part.top - top, width: part.width, height: part.height });
    return rawRgba(ctx, pipeline);
  });
  if (whole || !extendsEdges) return { image, left: part.left, top: part.top };
  return clipToBase(image, left, top, base);
}

async function rawRgba(ctx: RenderContext, image: Sharp): Promise<RawRgba> {
  const { data, info } = await ctx.builder.exec(image.ensureAlpha().toColourspace('srgb').raw({ depth: 'uchar' }));
  if (info.channels !== 4) throw new Error(`loadOverlay: expected 4 bands, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

function applyResize(image: Sharp, plan: OverlayResize): void {
  switch (plan.kind) {
    case 'none':
      return;
    case 'scale':
      image.resize(plan.width, plan.height, { fit: 'fill' });
      return;
    case 'cover':
      image.resize(plan.width, plan.height, { fit: 'cover', position: plan.position });
      return;
    case 'contain': {
      const { width, height, inner } = plan;
      if (plan.fill === 'transparent') {
        image.resize(width, height, { fit: 'contain', background: TRANSPARENT });
        return;
      }
      // blend-fit=clamp: the remaining space repeats the edge pixels ("affine clamp").
      const left = Math.floor((width - inner.width) / 2);
      const top = Math.floor((height - inner.height) / 2);
      image
        .resize(inner.width, inner.height, { fit: 'fill' })
        .extend({ left, top, right: width - inner.width - left, bottom: height - inner.height - top, extendWith: 'copy' });
    }
  }
}

/** Sub-image failures name the layer (they are about the fetched mark/blend, not the source). */
async function named<T>(label: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isPictorError(error) && error.pointer === label) throw error;
    const mapped = mapSharpError(error);
    if (isPictorError(mapped) && mapped.code === 'UNSUPPORTED_IMAGE') {
      throw new PictorError('UNSUPPORTED_IMAGE', `The ${label} image could not be decoded: ${mapped.message.replace(/^.*?decoded: /, '')}`, { pointer: label, cause: error });
    }
    if (isPictorError(mapped) && mapped.code === 'INPUT_TOO_LARGE') {
      throw new PictorError('INPUT_TOO_LARGE', `The ${label} image has too many pixels`, { pointer: label, cause: error });
    }
    throw mapped;
  }
}

/** Multiplies the alpha band by `factor` (0…1): mark-alpha / blend-alpha. */
export function scaleAlpha(image: RawRgba, factor: number): void {
  if (factor >= 1) return;
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i]! * factor);
}

export function isOpaque(image: RawRgba): boolean {
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/**
 * Top-left corner for an overlay of `size` in `base`: `x`/`y` (pixels from the top-left) win on their axis;
 * otherwise the alignment, `pad` pixels in from the aligned edges (centred axes ignore the padding).
 * Aligned positions are kept inside the base when the overlay fits; explicit ones may overhang (clipped).
 */
export function placeOverlay(size: Size, base: Size, align: Align, pad: number, x?: number, y?: number): { left: number; top: number } {
  const along = (keyword: string, side: number, length: number) => {
    const free = side - length;
    const offset = keyword === 'left' || keyword === 'top' ? pad : keyword === 'right' || keyword === 'bottom' ? free - pad : Math.floor(free / 2);
    return free >= 0 ? Math.min(free, Math.max(0, offset)) : offset;
  };
  return {
    left: x ?? along(align[1], base.width, size.width),
    top: y ?? along(align[0], base.height, size.height),
  };
}

/** An overlay at its place in the base. */
export interface PlacedOverlay {
  image: RawRgba;
  left: number;
  top: number;
}

/** The rectangle (in the base's coordinates) of an overlay of `size` at (left, top) that lies inside `base`; undefined if none. */
export function visiblePart(size: Size, left: number, top: number, base: Size): { left: number; top: number; width: number; height: number } | undefined {
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(base.width, left + size.width);
  const y1 = Math.min(base.height, top + size.height);
  if (x1 <= x0 || y1 <= y0) return undefined;
  return { left: x0, top: y0, width: x1 - x0, height: y1 - y0 };
}

/** The part of an overlay at (left, top) that lies inside `base`, re-based to its new corner; undefined if none. */
export function clipToBase(image: RawRgba, left: number, top: number, base: Size): PlacedOverlay | undefined {
  const part = visiblePart(image, left, top, base);
  if (!part) return undefined;
  if (part.width === image.width && part.height === image.height) return { image, left, top };
  return { image: cropRaw(image, part.left - left, part.top - top, part.width, part.height), left: part.left, top: part.top };
}

export function cropRaw(image: RawRgba, left: number, top: number, width: number, height: number): RawRgba {
  const data = Buffer.alloc(width * height * 4);
  const rowBytes = width * 4;
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * 4;
    image.data.copy(data, y * rowBytes, from, from + rowBytes);
  }
  return { data, width, height };
}

/**
 * Composites `source` onto the current image with imgix blend `mode`: one sharp composite when libvips
 * computes it exactly (see blend-modes.ts), otherwise a per-pixel pass over the materialised image.
 */
export async function blendOnto(ctx: RenderContext, source: BlendSource, mode: BlendMode, sourceOpaque: boolean): Promise<void> {
  const { builder } = ctx;
  if (!sharpIsExact(mode, builder.hasAlpha, sourceOpaque)) {
    await builder.transformPixels((data, info) => blendPixels(data, info.width, info.height, info.channels, source, mode));
    return;
  }
  const blend = SHARP_BLEND[mode]!;
  const layer = source.kind === 'color'
    ? { input: { create: { width: builder.width, height: builder.height, channels: 4 as const, background: toSharpColor(source.color) } }, left: 0, top: 0, blend }
    : { input: source.image.data, raw: { width: source.image.width, height: source.image.height, channels: 4 as const }, left: source.left, top: source.top, blend };
  await compositeLayer(ctx, layer);
}

/**
 * A raw RGBA layer drawn "over" the image at (left, top). libvips composites every pixel of the image (in
 * float) however small the layer is, which costs more than the resize before it; drawn on the pixels the layer
 * covers only, once the image is materialised (8-bit sRGB, as every later step sees it), the same "over"
 * (blend-modes.ts, `normal`) costs a fraction. An animation's frames keep libvips' composite, in one pipeline.
 */
export async function drawOver(ctx: RenderContext, image: RawRgba, left: number, top: number): Promise<void> {
  const { builder } = ctx;
  if (!builder.pixelAccess) {
    await compositeLayer(ctx, { input: image.data, raw: { width: image.width, height: image.height, channels: 4 }, left, top, blend: 'over' });
    return;
  }
  await builder.transformPixels((data, info) => blendPixels(data, info.width, info.height, info.channels, { kind: 'image', image, left, top }, 'normal'));
}

/** One composite in the builder's `composite` slot; sharp adds an alpha band to composite, dropped again for opaque bases. */
export async function compositeLayer(ctx: RenderContext, layer: OverlayOptions): Promise<void> {
  const { builder } = ctx;
  const opaqueBase = !builder.hasAlpha;
  await builder.add({
    slots: ['composite'],
    from: STAGE.composite,
    apply: (image) => {
      image.composite([layer]);
      // Over an opaque base every separable mode and "over" leave alpha at 255: the band is redundant.
      return opaqueBase ? image.removeAlpha() : image;
    },
  });
}

function scaleTo(source: Size, width: number, height: number): OverlayResize {
  return width === source.width && height === source.height ? { kind: 'none' } : { kind: 'scale', width, height };
}

function inside(source: Size, tw: number, th: number, enlarge: boolean): Size {
  let scale = Math.min(tw / source.width, th / source.height);
  if (!enlarge) scale = Math.min(scale, 1);
  return {
    width: Math.min(tw, Math.max(1, Math.round(source.width * scale))),
    height: Math.min(th, Math.max(1, Math.round(source.height * scale))),
  };
}
