/**
 * What the layers drawn over an image cost in memory (part of the estimate of cost.ts): the sub-images
 * (`mark`, `blend`, an image `mask`), shape masks and text. Each is charged for the buffers its step
 * really creates, at the sizes the step itself plans from the sub-image's header or the text's measured
 * ink. Two kinds of buffers:
 * - raw pixels handed to JavaScript (a decoded sub-image, an alpha band, the text's ink and layers, the image
 *   materialised for a per-pixel pass or a second composite) are counted as held until the render ends:
 *   nothing guarantees that the garbage collector frees one before the next is made;
 * - the native working memory of one libvips or Pango call (a decoder, an SVG surface, the text's drawing
 *   surface) is freed when the call returns: only the largest of them counts.
 * What is charged, per layer:
 * - a sub-image: its decoder (decode-cost.ts, at its own size and bit depth) and its raw 8-bit RGBA at the
 *   size it is drawn, only the part inside the image (steps/overlay.ts decodes no more); a rotated mark is
 *   held whole before its rotation, at its bit depth; a tiled mark's grid cell is a second copy;
 * - a mask: a shape's SVG surface (RGBA), or an image mask stretched to the image, and the alpha band;
 * - text: Pango's drawing surfaces and its glyph cache (each glyph an image at the size drawn), the ink
 *   mask, the shadow and the outline over the ink and its margin, and the painted layer, at most the image;
 * - the image itself, materialised to raw RGBA for a per-pixel pass (masks, blend modes sharp cannot do
 *   exactly) or when a composite follows another one in the same pipeline (steps/overlay.ts).
 */
import type { OutputInfo, Sharp } from 'sharp';
import { decodeBytes } from './decode-cost.ts';
import { rotatedBounds, type Size } from './geometry.ts';
import type { RenderParams } from './render-params.ts';
import { MARK_PAD } from './sub-image-params.ts';
import { blendPlace, blendResize } from './steps/blend.ts';
import { markPlan } from './steps/mark.ts';
import { readSubImageHeader, resizedSize, visiblePart, type SubImageHeader } from './steps/overlay.ts';
import { textExtent, type TextExtent } from './steps/text.ts';
import { mapSharpError } from './sharp-errors.ts';

/** What is known of the layers before the render: the sub-images' headers and the text's extent. */
export interface LayersInfo {
  mark?: SubImageHeader;
  blend?: SubImageHeader;
  mask?: SubImageHeader;
  text?: TextExtent;
}

/**
 * Reads what the estimate needs of the layers, before anything is decoded: the headers of the sub-images
 * the render will draw (over the input pixel limit is a 413 here already), and the text measured at a
 * small size on an image of `base`.
 */
export async function readLayers(
  params: RenderParams,
  subImages: { mark?: Buffer; blend?: Buffer; mask?: Buffer } | undefined,
  base: Size,
  maxInputPixels: number,
): Promise<LayersInfo> {
  const layers: LayersInfo = {};
  const read = (label: 'mark' | 'blend' | 'mask', buffer: Buffer | undefined) => buffer && readSubImageHeader(label, buffer, maxInputPixels);
  if (params.mark !== undefined) layers.mark = await read('mark', subImages?.mark);
  if (params.blend !== undefined && !params['blend-color']) layers.blend = await read('blend', subImages?.blend);
  if (params.mask !== undefined && params.mask !== 'ellipse' && params.mask !== 'corners') layers.mask = await read('mask', subImages?.mask);
  if (params.txt !== undefined) layers.text = await textExtent(params, base, measure);
  return layers;
}

async function measure(image: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await image.toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw mapSharpError(error);
  }
}

/** Raw 8-bit RGBA. */
const RGBA = 4;
/** Pango and cairo drawing text, per pixel of the ink mask: the surfaces drawn on, freed once drawn. */
const TEXT_SURFACE_BYTES_PER_PIXEL = 4;
/** cairo's glyph cache, per pixel of the ink mask: each glyph kept as an RGBA image at the size drawn. */
const TEXT_GLYPH_CACHE_BYTES_PER_PIXEL = 4;

/**
 * Seconds of one core per pixel of the per-pixel passes written in JavaScript, which take longer than
 * their memory suggests (measured on Node 20, rounded up): a blend mode sharp cannot do exactly (per pixel
 * of the blend), an alpha mask (per pixel of the image), the text's drawing (per pixel of its ink) and its
 * painting (per pixel of the layer painted, for each of the ink, its outline and its shadow).
 */
const BLEND_PASS_SECONDS_PER_PIXEL = 75e-9;
const MASK_PASS_SECONDS_PER_PIXEL = 15e-9;
const TEXT_DRAW_SECONDS_PER_PIXEL = 12e-9;
const TEXT_PAINT_SECONDS_PER_PIXEL = 18e-9;

/** Seconds of one core the layers' per-pixel passes take, on an image of `base`. */
export function layersSeconds(base: Size, params: RenderParams, layers: LayersInfo): number {
  let seconds = 0;
  if (params.mask !== undefined && (maskIsShape(params) || layers.mask)) seconds += MASK_PASS_SECONDS_PER_PIXEL * area(base);
  const mode = params['blend-mode'] ?? 'overlay';
  if (mode !== 'normal' && (params['blend-color'] || (params.blend !== undefined && layers.blend))) seconds += BLEND_PASS_SECONDS_PER_PIXEL * area(base);
  const text = layers.text;
  if (text) {
    const painted = Math.min(text.width + 2 * text.margin, base.width) * Math.min(text.height + 2 * text.margin, base.height);
    const inks = 1 + (text.shadow ? 1 : 0) + (text.outline ? 1 : 0);
    seconds += TEXT_DRAW_SECONDS_PER_PIXEL * text.width * text.height + TEXT_PAINT_SECONDS_PER_PIXEL * inks * painted;
  }
  return seconds;
}

/** Bytes held by JavaScript until the render ends, and the largest native working memory of one call. */
interface LayerCost {
  held: number;
  transient: number;
}

const NONE: LayerCost = { held: 0, transient: 0 };

/** Bytes the layers of `params` hold at most, on an image of `base` (the output's size). */
export function layersCost(base: Size, params: RenderParams, layers: LayersInfo): number {
  const costs = [maskCost(base, params, layers.mask), blendCost(base, params, layers.blend), markCost(base, params, layers.mark), textCost(base, layers.text)];
  const held = costs.reduce((sum, cost) => sum + cost.held, 0);
  const transient = Math.max(...costs.map((cost) => cost.transient));
  return held + transient + RGBA * area(base) * materialisations(params, layers);
}

/**
 * How many times the layers materialise the image (PipelineBuilder): each per-pixel pass does (a single mark
 * and the text are one each), and a composite when the pipeline already holds one or has just had an alpha
 * band joined.
 */
function materialisations(params: RenderParams, layers: LayersInfo): number {
  let count = 0;
  let compositeTaken = false;
  const composite = () => {
    if (compositeTaken) count++;
    compositeTaken = true;
  };
  if (params.mask !== undefined && (maskIsShape(params) || layers.mask)) {
    count++; // the alpha pass, then a joined band that nothing may follow in the pipeline
    compositeTaken = true;
  }
  if (params['blend-color'] || (params.blend !== undefined && layers.blend)) {
    // Only `normal` is always composited by sharp; other modes may need the per-pixel pass.
    if ((params['blend-mode'] ?? 'overlay') === 'normal') composite();
    else {
      count++;
      compositeTaken = false;
    }
  }
  // A tiled mark is one composite; a single mark and the text are drawn over the materialised image (drawOver).
  const drawn = () => {
    count++;
    compositeTaken = false;
  };
  if (params.mark !== undefined && layers.mark) {
    if (params['mark-tile'] === 'grid') composite();
    else drawn();
  }
  if (layers.text) drawn();
  return count;
}

function maskIsShape(params: RenderParams): boolean {
  return params.mask === 'ellipse' || params.mask === 'corners';
}

function maskCost(base: Size, params: RenderParams, header: SubImageHeader | undefined): LayerCost {
  if (params.mask === undefined) return NONE;
  const pixels = area(base);
  // A shape is rasterised from SVG on an RGBA surface; an image is decoded and stretched to the image.
  if (maskIsShape(params)) return { held: pixels, transient: RGBA * pixels };
  if (!header) return NONE; // not fetched: drawn without it
  return { held: RGBA * pixels + pixels, transient: decodeBytes(header) };
}

function blendCost(base: Size, params: RenderParams, header: SubImageHeader | undefined): LayerCost {
  if (params['blend-color'] || params.blend === undefined || !header) return NONE;
  const plan = blendResize(header, base, params);
  const size = resizedSize(plan, header);
  const { left, top } = blendPlace(size, base, params);
  const part = visiblePart(size, left, top, base);
  if (!part) return NONE;
  // blend-fit=clamp extends the edges after sharp would extract: it is decoded whole, then clipped.
  const clamped = plan.kind === 'contain' && plan.fill === 'edges' ? RGBA * area(size) : 0;
  return { held: RGBA * area(part) + clamped, transient: decodeBytes(header) };
}

function markCost(base: Size, params: RenderParams, header: SubImageHeader | undefined): LayerCost {
  if (params.mark === undefined || !header) return NONE;
  if (base.width < (params['mark-if-min-width'] ?? 0) || base.height < (params['mark-if-min-height'] ?? 0)) return NONE;
  const size = resizedSize(markPlan(header, base, params), header);
  const rotate = params['mark-rot'];
  if (rotate !== undefined) {
    // The sized mark is held whole for the rotation, at its depth; the rotated result, and its crop to the image.
    const rotated = RGBA * area(rotatedBounds(size, rotate));
    return { held: 2 * rotated, transient: decodeBytes(header) + RGBA * header.sampleBytes * area(size) };
  }
  if (params['mark-tile'] === 'grid') {
    const gap = params['mark-pad'] ?? MARK_PAD;
    const cell = Math.min(base.width, size.width + gap) * Math.min(base.height, size.height + gap);
    return { held: RGBA * (area(size) + cell), transient: decodeBytes(header) };
  }
  // Only the part inside the image is decoded: at most the smaller of the two.
  return { held: RGBA * Math.min(area(size), area(base)), transient: decodeBytes(header) };
}

/**
 * The glyph cache and the mask stay; the drawing's surfaces are gone before the shadow, the outline and the
 * painted layer are made, so the larger of the two phases counts.
 */
function textCost(base: Size, text: TextExtent | undefined): LayerCost {
  if (!text) return NONE;
  const ink = text.width * text.height;
  const margin = text.margin;
  const layer = (text.width + 2 * margin) * (text.height + 2 * margin);
  const painted = Math.min(text.width + 2 * margin, base.width) * Math.min(text.height + 2 * margin, base.height);
  const mask = (text.cut ? 2 : 1) * ink; // and its cut to the box
  const padded = margin > 0 ? layer : 0;
  const shadow = text.shadow ? layer : 0;
  const outline = text.outline ? 2 * layer : 0; // grown along rows, then along columns
  const drawing = TEXT_SURFACE_BYTES_PER_PIXEL * ink;
  const painting = padded + shadow + outline + RGBA * painted;
  return { held: TEXT_GLYPH_CACHE_BYTES_PER_PIXEL * ink + mask + Math.max(drawing, painting), transient: 0 };
}

function area(size: Size): number {
  return size.width * size.height;
}
