/**
 * Pure size arithmetic for `rect`, `w`/`h`/`dpr`/`ar`, the fit modes and the output cap. Everything is
 * computed here, up front, so sharp is always told exact pixel sizes and the result is predictable.
 */
import { PictorError } from '../errors.ts';
import { borderOf } from './canvas-params.ts';
import type { Rgba } from './colors.ts';
import type { Face } from './faces/blazeface.ts';
import { faceAreaRegion, faceCropRegion } from './faces/face-geometry.ts';
import { isFaceArea, plainFit } from './faces-params.ts';
import { paddingOf, type CropMode, type Padding, type RectValue, type RenderParams } from './render-params.ts';

export interface Size {
  width: number;
  height: number;
}

export interface Region extends Size {
  left: number;
  top: number;
}

export type Gravity = 'centre' | 'north' | 'south' | 'east' | 'west' | 'northeast' | 'northwest' | 'southeast' | 'southwest';

export type ResizePlan =
  | { kind: 'none' }
  /** Resample to exactly this size (clip, max, scale, and the output cap). */
  | { kind: 'scale'; width: number; height: number }
  /** Cover the box, then crop it with a gravity or a sharp strategy. */
  | { kind: 'cover'; width: number; height: number; position: Gravity | 'attention' | 'entropy' }
  /** Cut `region` out of the image and scale it to the box (focal-point crops). */
  | { kind: 'focal'; region: Region; width: number; height: number }
  /** Fit `inner` inside the box and fill the rest: a colour, a blurred copy, a gradient or repeated edge pixels (clamp). */
  | { kind: 'contain'; width: number; height: number; inner: Size; enlarge: boolean; fill: Rgba | 'blur' | 'gradient' | 'edges' };

export interface GeometryPlan {
  resize: ResizePlan;
  /** Padding after scaling down for the output cap. */
  padding: Padding;
  /** Border widths (outside the padding), scaled like the padding. */
  border: Padding;
  /** The final size: the resized image, a pivot rotation's larger canvas, padding and border, within the limits. */
  output: Size;
}

/** The largest output: per side, and in pixels (padding and rotated canvases count). */
export interface OutputLimits {
  maxSide: number;
  maxPixels: number;
}

const WHITE: Rgba = { r: 255, g: 255, b: 255, a: 255 };

/**
 * `rect` in pixels of `source`: a rectangle partly outside is clipped to it; one wholly outside selects
 * nothing, which is refused (INVALID_PARAMETER) rather than turned into a sliver of the edge.
 */
export function resolveRect(rect: RectValue, source: Size): Region {
  const [x, y, w, h] = rect;
  const width = clamp(Math.round(fractionOrPixels(w, source.width)), 1, source.width);
  const height = clamp(Math.round(fractionOrPixels(h, source.height)), 1, source.height);
  const left = typeof x === 'number' ? fractionOrPixels(x, source.width) : anchor(x, source.width, width);
  const top = typeof y === 'number' ? fractionOrPixels(y, source.height) : anchor(y, source.height, height);
  if (Math.round(left) >= source.width || Math.round(top) >= source.height) {
    throw new PictorError(
      'INVALID_PARAMETER',
      `rect starts at x=${Math.round(left)}, y=${Math.round(top)}, outside the ${source.width}×${source.height} image it is cut from; it must overlap the image`,
      { pointer: 'rect' },
    );
  }
  const l = clamp(Math.round(left), 0, source.width - 1);
  const t = clamp(Math.round(top), 0, source.height - 1);
  return { left: l, top: t, width: Math.min(width, source.width - l), height: Math.min(height, source.height - t) };
}

/**
 * The resize for the fit mode, plus padding and border, scaled down together when the final output (including
 * them and a pivot rotation's larger canvas) would exceed the limits. `faces` (in `source` coordinates) are
 * given once detected; without them, face-aware fits plan their largest possible outcome (the cost estimate).
 *
 * imgix: with no size requested, padding (and border) add to the image's size; when the image is resized or
 * cropped, "the image (including the padding) will be sized to fit within the requested dimensions". So the
 * fit is planned for the requested box less the padding and border, which are then added back around it.
 */
export function planGeometry(source: Size, params: RenderParams, limits: OutputLimits, faces?: readonly Face[]): GeometryPlan {
  const padding = paddingOf(params);
  const border = borderOf(params);
  const plan = planFit(source, params, sumInsets(padding, border), faces);
  const output = finalSize(source, plan, sumInsets(padding, border), params);
  const k = Math.min(1, limits.maxSide / output.width, limits.maxSide / output.height, Math.sqrt(limits.maxPixels / (output.width * output.height)));
  if (k >= 1) return { resize: plan, padding, border, output };
  // Floors (not rounding) so that the scaled parts never add up to more than the limits.
  const down = (v: number) => Math.floor(v * k);
  const scale = (p: Padding) => ({ top: down(p.top), right: down(p.right), bottom: down(p.bottom), left: down(p.left) });
  const [scaledPadding, scaledBorder] = [scale(padding), scale(border)];
  const resize = scalePlan(plan, source, k);
  return { resize, padding: scaledPadding, border: scaledBorder, output: finalSize(source, resize, sumInsets(scaledPadding, scaledBorder), params) };
}

function sumInsets(a: Padding, b: Padding): Padding {
  return { top: a.top + b.top, right: a.right + b.right, bottom: a.bottom + b.bottom, left: a.left + b.left };
}

function finalSize(source: Size, plan: ResizePlan, insets: Padding, params: RenderParams): Size {
  const box = plan.kind === 'none' ? source : plan;
  const rotated = params.rot !== undefined && params['rot-type'] === 'pivot' ? rotatedBounds(box, params.rot) : box;
  return { width: rotated.width + insets.left + insets.right, height: rotated.height + insets.top + insets.bottom };
}

function targetSize(source: Size, params: RenderParams): { tw: number | undefined; th: number | undefined; dpr: number } {
  const dpr = params.dpr ?? 1;
  const target = (v: number | undefined, side: number) =>
    v === undefined ? undefined : Math.max(1, Math.round((v <= 1 ? v * side : v) * dpr));
  return { tw: target(params.w, source.width), th: target(params.h, source.height), dpr };
}

/** `insets` (padding + border) are taken off the requested box: the image is fitted into what remains. */
function planFit(source: Size, params: RenderParams, insets: Padding, faces: readonly Face[] | undefined): ResizePlan {
  if (isFaceArea(params)) return planFaceArea(source, params, insets, faces);
  const { tw: tw0, th: th0, dpr } = targetSize(source, params);
  const fit = plainFit(params);
  if (fit === 'crop') return planCrop(source, params, tw0, th0, dpr, insets, faces);
  const tw = inset(tw0, insets.left + insets.right);
  const th = inset(th0, insets.top + insets.bottom);

  if (tw === undefined && th === undefined) return { kind: 'none' };
  if (tw !== undefined && th !== undefined) {
    switch (fit) {
      case 'scale':
        return scaleTo(source, tw, th);
      case 'min':
        return planMin(source, tw, th);
      case 'fill':
      case 'fillmax':
      case 'clamp': {
        const enlarge = fit !== 'fillmax';
        const inner = inside(source, tw, th, enlarge);
        if (inner.width === tw && inner.height === th) return scaleTo(source, tw, th);
        const fill = fit === 'clamp' ? 'edges' : params.fill ?? params['fill-color'] ?? WHITE;
        return { kind: 'contain', width: tw, height: th, inner, enlarge, fill };
      }
      default: {
        const size = inside(source, tw, th, fit !== 'max');
        return scaleTo(source, size.width, size.height);
      }
    }
  }
  // One side given (normalisation turned the boxed modes into clip or max).
  const scale = tw !== undefined ? tw / source.width : th! / source.height;
  if (fit === 'max' && scale >= 1) return { kind: 'none' };
  return scaleTo(source, tw ?? Math.max(1, Math.round(source.width * scale)), th ?? Math.max(1, Math.round(source.height * scale)));
}

function inset(side: number | undefined, by: number): number | undefined {
  return side === undefined ? undefined : Math.max(1, side - by);
}

/**
 * fit=facearea: cut the face region and scale it to the box (to a square of the one side given; unscaled
 * without w and h). No face (or no `faceindex`-th face): the fallback fit. Before detection, whichever of
 * the two is larger, as if the whole image were the face.
 */
function planFaceArea(source: Size, params: RenderParams, insets: Padding, faces: readonly Face[] | undefined): ResizePlan {
  const target = targetSize(source, params);
  const tw = inset(target.tw, insets.left + insets.right);
  const th = inset(target.th, insets.top + insets.bottom);
  const whole: Face[] = [{ left: 0, top: 0, width: source.width, height: source.height } as Face];
  const region = faces ? faceAreaRegion(source, faces, params, tw, th) : faceAreaRegion(source, whole, {}, tw, th);
  const side = tw ?? th;
  const face: ResizePlan | undefined = region && {
    kind: 'focal',
    region,
    width: tw ?? side ?? region.width,
    height: th ?? side ?? region.height,
  };
  if (face && faces) return face;
  const { fit: _facearea, ...rest } = params;
  const fallback = planFit(source, Array.isArray(params.fit) && params.fit[1] ? { ...rest, fit: params.fit[1] } : rest, insets, faces);
  return face && planPixels(face, source) > planPixels(fallback, source) ? face : fallback;
}

function planPixels(plan: ResizePlan, source: Size): number {
  return plan.kind === 'none' ? source.width * source.height : plan.width * plan.height;
}

function planCrop(
  source: Size,
  params: RenderParams,
  tw0: number | undefined,
  th0: number | undefined,
  dpr: number,
  insets: Padding,
  faces: readonly Face[] | undefined,
): ResizePlan {
  let tw = tw0;
  let th = th0;
  const ar = params.ar;
  if (tw === undefined || th === undefined) {
    if (ar !== undefined) {
      if (tw !== undefined) th = Math.max(1, Math.round(tw / ar));
      else if (th !== undefined) tw = Math.max(1, Math.round(th * ar));
      else if (source.width / source.height > ar) {
        th = source.height;
        tw = Math.max(1, Math.round(source.height * ar));
      } else {
        tw = source.width;
        th = Math.max(1, Math.round(source.width / ar));
      }
    } else if (tw !== undefined) {
      th = Math.max(1, Math.round((source.height * tw) / source.width));
    } else {
      tw = Math.max(1, Math.round((source.width * th!) / source.height));
    }
  }
  const bound = (v: number, min: number | undefined, max: number | undefined) =>
    clamp(v, min === undefined ? 1 : Math.round(min * dpr), max === undefined ? Infinity : Math.round(max * dpr));
  tw = bound(tw!, params['min-w'], params['max-w']);
  th = bound(th!, params['min-h'], params['max-h']);
  if (tw0 !== undefined || th0 !== undefined) {
    // A requested size is the output's: the image gets the box less padding and border.
    tw = inset(tw, insets.left + insets.right)!;
    th = inset(th, insets.top + insets.bottom)!;
  }
  if (tw === source.width && th === source.height) return { kind: 'none' };
  let crop = params.crop;
  if (crop?.[0] === 'faces') {
    // Centre the cover crop's window on the faces; without faces, the rest of the chain decides.
    const cover = Math.max(tw / source.width, th / source.height);
    const region = faces && faceCropRegion(source, faces, { width: tw / cover, height: th / cover });
    if (region) return { kind: 'focal', region, width: tw, height: th };
    crop = crop.slice(1);
  }
  if (crop?.[0] === 'focalpoint') return planFocal(source, params, tw, th);
  return { kind: 'cover', width: tw, height: th, position: cropPosition(crop) };
}

/** Zoom `fp-z` into the cover region around (`fp-x`, `fp-y`), keeping the window inside the image. */
function planFocal(source: Size, params: RenderParams, tw: number, th: number): ResizePlan {
  const cover = Math.max(tw / source.width, th / source.height);
  const zoom = params['fp-z'] ?? 1;
  const width = clamp(Math.round(tw / cover / zoom), 1, source.width);
  const height = clamp(Math.round(th / cover / zoom), 1, source.height);
  const cx = (params['fp-x'] ?? 0.5) * source.width;
  const cy = (params['fp-y'] ?? 0.5) * source.height;
  const left = clamp(Math.round(cx - width / 2), 0, source.width - width);
  const top = clamp(Math.round(cy - height / 2), 0, source.height - height);
  return { kind: 'focal', region: { left, top, width, height }, width: tw, height: th };
}

/** fit=min: the box's aspect ratio, but never larger than the source (a pure crop when the box is bigger). */
function planMin(source: Size, tw: number, th: number): ResizePlan {
  const cover = Math.max(tw / source.width, th / source.height);
  if (cover <= 1) return { kind: 'cover', width: tw, height: th, position: 'centre' };
  const width = clamp(Math.round(tw / cover), 1, source.width);
  const height = clamp(Math.round(th / cover), 1, source.height);
  if (width === source.width && height === source.height) return { kind: 'none' };
  return { kind: 'cover', width, height, position: 'centre' };
}

function cropPosition(crop: CropMode[] | undefined): Gravity | 'attention' | 'entropy' {
  if (!crop || crop.length === 0) return 'centre';
  if (crop[0] === 'edges') return 'attention';
  if (crop[0] === 'entropy') return 'entropy';
  const vertical = crop.includes('top') ? 'north' : crop.includes('bottom') ? 'south' : '';
  const horizontal = crop.includes('left') ? 'west' : crop.includes('right') ? 'east' : '';
  return ((vertical + horizontal) || 'centre') as Gravity;
}

/** Largest size with the source's aspect ratio inside the box (never above the source unless `enlarge`). */
function inside(source: Size, tw: number, th: number, enlarge: boolean): Size {
  let scale = Math.min(tw / source.width, th / source.height);
  if (!enlarge) scale = Math.min(scale, 1);
  return {
    width: clamp(Math.round(source.width * scale), 1, tw),
    height: clamp(Math.round(source.height * scale), 1, th),
  };
}

function scaleTo(source: Size, width: number, height: number): ResizePlan {
  return width === source.width && height === source.height ? { kind: 'none' } : { kind: 'scale', width, height };
}

function scalePlan(plan: ResizePlan, source: Size, k: number): ResizePlan {
  const s = (v: number) => Math.max(1, Math.floor(v * k));
  switch (plan.kind) {
    case 'none':
      return { kind: 'scale', width: s(source.width), height: s(source.height) };
    case 'scale':
    case 'cover':
    case 'focal':
      return { ...plan, width: s(plan.width), height: s(plan.height) };
    case 'contain':
      return { ...plan, width: s(plan.width), height: s(plan.height), inner: { width: s(plan.inner.width), height: s(plan.inner.height) } };
  }
}

export function rotatedBounds(size: Size, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  return {
    width: Math.ceil(size.width * cos + size.height * sin - 1e-9),
    height: Math.ceil(size.width * sin + size.height * cos - 1e-9),
  };
}

/**
 * rot-type=straighten keeps the frame: the largest centred box with the frame's aspect ratio that fits
 * inside the rotated image, as a fraction of the frame.
 */
export function straightenScale(size: Size, degrees: number): number {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  const { width: w, height: h } = size;
  return Math.min(w / (w * cos + h * sin), h / (w * sin + h * cos));
}

function fractionOrPixels(value: number, side: number): number {
  return value > 0 && value < 1 ? value * side : value;
}

function anchor(keyword: string, side: number, size: number): number {
  if (keyword === 'left' || keyword === 'top') return 0;
  if (keyword === 'right' || keyword === 'bottom') return side - size;
  return (side - size) / 2;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
