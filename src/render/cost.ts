/**
 * What a render will cost in memory, estimated from the input's header and the planned output before any
 * pixel is decoded. Renders are admitted against a memory budget by this estimate (delivery/render-admission.ts),
 * and heavy ones run in a separate process that can be killed at the render deadline (isolated-renderer.ts).
 *
 * The model is per pixel and per codec, measured on sharp 0.35 with one libvips thread per render (the
 * process's peak resident memory over its start, for inputs and outputs up to 8192 px a side). It errs high:
 * an estimate too low would let renders multiply past the budget, one too high only makes them queue.
 * - Decoders that stream (baseline JPEG, non-interlaced PNG, TIFF, WebP with shrink-on-load) cost little per
 *   input pixel; those that need the whole image first (progressive JPEG coefficients, interlaced PNG, GIF,
 *   AVIF/HEIF) cost several bytes per input pixel (decode-cost.ts). A 16-bit image costs twice an 8-bit one
 *   until it is cast to 8 bits: in its decoder, in the steps that hold it whole, and in a PNG encoder.
 * - Encoders that need the whole image (AVIF most of all, WebP, JPEG with optimised Huffman tables, palette
 *   quantisation) cost bytes per output pixel; PNG streams.
 * - Steps that materialise the whole image (trim, arbitrary rotation, blur, pixelate, fill=blur) hold a raw
 *   RGBA copy of it; so does each whole-image layer of rounded borders and gradient fills.
 * - Layers (sub-images, masks and text) are charged for the buffers their steps create, from the sub-images'
 *   headers and the text's measured size (layer-cost.ts).
 * - A heavy render holds a render process (Node, sharp and libvips themselves) and the copies of its encoded
 *   input and sub-images sent to it.
 * - Vector inputs are rasterised at the size the output needs; they are always heavy (their rasteriser can
 *   neither be bounded in time nor interrupted from within the process). So are PDFs, whose page is drawn
 *   at the raster size the caller passes as the input's (pdf/pdf-source.ts plans it).
 */
import { HEAVY_RENDER_BYTES, lightReserve } from '../config/render-budget.ts';
import { decodeBatchFrames, type AnimationMode } from './animation/render.ts';
import { canvasLayers } from './canvas-params.ts';
import { decodeRate, DECODE_BYTES_PER_PIXEL, UNKNOWN_DECODE_BYTES_PER_PIXEL } from './decode-cost.ts';
import { paletteEffort, type OutputFormat } from './encode.ts';
import { coversFaces, detectsFaces } from './faces-params.ts';
import { layersCost, layersSeconds, type LayersInfo } from './layer-cost.ts';
import { PDF_HEAP_MB } from './pdf/pdf-thread.ts';
import type { RenderParams } from './render-params.ts';
import { toneCopies } from './tone-params.ts';

export { HEAVY_RENDER_BYTES, lightReserve };

export interface InputInfo {
  /** sharp's format name: jpeg, png, webp, gif, tiff, avif, heif, svg… */
  format: string;
  width: number;
  height: number;
  /** Progressive JPEG or interlaced PNG. */
  progressive: boolean;
  /** Frames decoded: 1, or the pages an animated output reads. */
  frames: number;
  /** A vector input with filter effects, which the rasteriser renders on whole-image surfaces. */
  filters?: boolean;
  /** Bands of the decoded input (unknown counts as 4). */
  channels?: number;
  /** Bytes per sample: 2 for a 16-bit image (unknown counts as 1). */
  sampleBytes?: number;
  /** The encoded input and sub-images: a render process receives copies of them. */
  encodedBytes?: number;
  /** A PDF's page count. */
  pages?: number;
  /** The encoded file's bytes per pixel of all its frames: how much detail it holds (see `grain`). */
  bytesPerPixel?: number;
}

export interface OutputInfo {
  format: OutputFormat;
  /** The final size (of one frame), padding and rotated canvas included. */
  width: number;
  height: number;
  /** Frames of an animated output (1 for a still). */
  frames?: number;
}

export interface RenderCost {
  /** Estimated peak memory of the render, in bytes. */
  bytes: number;
  /** Runs in the isolated render process (see HEAVY_RENDER_BYTES). */
  heavy: boolean;
  /**
   * Estimated seconds of one core for the work whose time grows faster than its memory: rasterising SVG
   * filter effects, and the per-pixel passes in JavaScript (layer-cost.ts). What else a render does is
   * bounded by its memory estimate; what no estimate foresees (a PDF page's content, an encoder's worst
   * case), by the render deadline.
   */
  seconds: number;
}

/** Renders estimated to take longer (RenderCost.seconds) are refused: 413, like those over the memory budget. */
export const MAX_RENDER_SECONDS = 10;

/** Fixed overhead of any render (pipeline state, the encoded input and output buffers of small images). */
const BASE_BYTES = 4 * 1024 * 1024;
/**
 * A render process's own resident memory (Node, sharp, libvips, fontconfig) before its render: part of what
 * a heavy render costs, since it holds the process while it runs.
 */
export const RENDER_PROCESS_BYTES = 96 * 1024 * 1024;

/** SVG filter effects (blurs, offsets, composites) each take whole-image surfaces of the raster. */
const VECTOR_FILTER_BYTES_PER_PIXEL = 30;
/**
 * And seconds of one core per pixel of the raster: librsvg's filters slow down per pixel as the raster
 * grows (a blur of a 9990 px drawing rendered at 5000 px); this is the rate at that size.
 */
const VECTOR_FILTER_SECONDS_PER_PIXEL = 1.2e-6;

const ENCODE_BYTES_PER_PIXEL: Record<OutputFormat, number> = {
  jpg: 6,
  pjpg: 6,
  png: 0.5,
  png32: 0.5,
  png8: 5,
  gif: 8,
  webp: 5,
  avif: 30,
  json: 0,
  blurhash: 0,
  palette: 0, // analysed on a small nearest-neighbour sample
};

/**
 * Seconds of one core per output pixel the slow encoders take, with Pictor's settings (AVIF at effort 1,
 * palettes at the effort encode.ts picks by size), on a smooth photo and on pure grain. Between the two the
 * rate follows the input's grain (see `grain`); AVIF at this effort takes about the same on both. Charged so
 * that a render that would encode past MAX_RENDER_SECONDS is refused up front rather than stopped at its
 * deadline. JPEG and PNG encode fast enough per pixel for the output size limit.
 */
const ENCODE_SECONDS_PER_PIXEL: Partial<Record<OutputFormat | 'palette-full' | 'palette-low', { smooth: number; grainy: number }>> = {
  avif: { smooth: 0.75e-6, grainy: 0.75e-6 },
  webp: { smooth: 0.06e-6, grainy: 0.25e-6 },
  // The full effort's palette search grows with the distinct colours: seconds on grain even at a modest size.
  'palette-full': { smooth: 0.2e-6, grainy: 6e-6 },
  'palette-low': { smooth: 0.15e-6, grainy: 0.5e-6 },
};
/**
 * Bytes per pixel of an encoded file of pure grain, per input format: a file at or above it counts as all
 * grain, a smaller one in proportion (a smooth photo compresses far below it).
 */
const GRAIN_BYTES_PER_PIXEL: Record<string, number> = { jpeg: 0.5, webp: 0.5, avif: 0.3, heif: 0.3, gif: 0.9, png: 2.5, tiff: 3 };

/**
 * How grainy the input is, from 0 (smooth) to 1 (grain): its encoded bytes per pixel against what grain takes
 * in its format. Unknown (a vector, a PDF page) counts as grain.
 */
function grain(input: InputInfo): number {
  const full = GRAIN_BYTES_PER_PIXEL[input.format];
  if (full === undefined || input.bytesPerPixel === undefined) return 1;
  return Math.min(1, input.bytesPerPixel / full);
}

/**
 * Face detection: its input and output tensors and the inference's working memory, per render. (The model
 * and its runtime, loaded once per process, are not per render.)
 */
const FACE_DETECTION_BYTES = 24 * 1024 * 1024;
/** The encoded frames an animated output accumulates before it is written (WebP's muxer, GIF's buffer). */
const ANIMATED_ENCODED_BYTES_PER_PIXEL = 1;
/** pdf.js in its thread (pdf/pdf-thread.ts) beside the page raster: the thread, pdf.js, a small document. */
const PDF_READER_BYTES = 64 * 1024 * 1024;
/** pdf.js keeps a parsed dictionary of every page of a flat page tree: per page. */
const PDF_PAGE_BYTES = 4 * 1024;
/** The most the PDF thread can take, whatever the document: its heap limit and the thread itself. */
const PDF_READER_MAX_BYTES = PDF_READER_BYTES + (PDF_HEAP_MB + 32) * 1024 * 1024;

/** A raw RGBA copy of the output-sized image, held by steps that materialise it. */
const MATERIALISED_BYTES_PER_PIXEL = 4;

export const VECTOR_FORMATS = new Set(['svg']);

/** What is known of a render beyond its input and output: how an animation is rendered, and its layers. */
export interface RenderExtras {
  animation?: AnimationMode;
  layers?: LayersInfo;
}

/**
 * An animated output (animation/render.ts): the native way decodes and encodes frame after frame, holding
 * about one frame of each plus the encoded result; the per-frame way holds a batch of decoded frames and
 * every rendered frame as raw RGBA, and each frame's steps one at a time.
 */
function animationCost(input: InputInfo, output: OutputInfo, params: RenderParams, mode: AnimationMode, layers: LayersInfo): number {
  const framePixels = input.width * input.height;
  const outputPixels = output.width * output.height;
  const frames = Math.max(1, output.frames ?? 1);
  const encodeRate = ENCODE_BYTES_PER_PIXEL[output.format];
  const oneFrame = framePixels * decodeRate(input) + outputPixels * encodeRate;
  if (mode === 'native') return BASE_BYTES + oneFrame + frames * outputPixels * ANIMATED_ENCODED_BYTES_PER_PIXEL;
  // Twice each: a finished batch and each frame's own output buffer wait for the garbage collector (counted
  // once, the estimate fell well short of the peak of a large GIF with a watermark).
  const decoded = Math.min(input.frames, decodeBatchFrames(input.width, input.height)) * framePixels;
  const stacks = 2 * MATERIALISED_BYTES_PER_PIXEL * (decoded + frames * outputPixels);
  const steps = MATERIALISED_BYTES_PER_PIXEL * (materialisingSteps(params) * outputPixels + (params.trim ? framePixels : 0));
  const layered = layersCost(output, params, layers);
  return BASE_BYTES + oneFrame + stacks + steps + layered + frames * outputPixels * ANIMATED_ENCODED_BYTES_PER_PIXEL;
}

export function estimateRenderCost(input: InputInfo, output: OutputInfo, params: RenderParams, extras: RenderExtras = {}): RenderCost {
  const layers = extras.layers ?? {};
  const vector = VECTOR_FORMATS.has(input.format);
  const bytes = extras.animation ? animationCost(input, output, params, extras.animation, layers) : stillCost(input, output, params, layers);
  const heavy = vector || input.format === 'pdf' || bytes >= HEAVY_RENDER_BYTES;
  // A heavy render holds its render process, and the copies of the encoded files sent to it (the message
  // they are serialised into, then the process's own copy).
  const isolation = heavy ? RENDER_PROCESS_BYTES + 2 * (input.encodedBytes ?? 0) : 0;
  return { bytes: Math.ceil(bytes + isolation), heavy, seconds: workSeconds(input, output, params, layers) };
}

/** See RenderCost.seconds: an animation runs its layers, and its encoder, once per frame. */
function workSeconds(input: InputInfo, output: OutputInfo, params: RenderParams, layers: LayersInfo): number {
  const outputPixels = output.width * output.height;
  const frames = Math.max(1, output.frames ?? 1);
  const filters = VECTOR_FORMATS.has(input.format) && input.filters ? VECTOR_FILTER_SECONDS_PER_PIXEL * outputPixels : 0;
  return filters + frames * layersSeconds(output, params, layers) + encodeSeconds(output.format, outputPixels * frames, grain(input));
}

/** See ENCODE_SECONDS_PER_PIXEL; `pixels` counts every frame, `grainLevel` is `grain`'s. */
export function encodeSeconds(format: OutputFormat, pixels: number, grainLevel: number): number {
  const palette = format === 'png8' || format === 'gif';
  const rates = ENCODE_SECONDS_PER_PIXEL[palette ? (paletteEffort(pixels) > 3 ? 'palette-full' : 'palette-low') : format];
  if (rates === undefined) return 0;
  return pixels * (rates.smooth + (rates.grainy - rates.smooth) * grainLevel);
}

function stillCost(input: InputInfo, output: OutputInfo, params: RenderParams, layers: LayersInfo): number {
  const inputPixels = input.width * input.height * Math.max(1, input.frames);
  const outputPixels = output.width * output.height;
  const vector = VECTOR_FORMATS.has(input.format);
  const sampleBytes = input.sampleBytes ?? 1;
  // A vector input is rasterised at (about) the output's size, whatever size it declares.
  const decodePixels = vector ? outputPixels : inputPixels;
  const decodeBytesPerPixel = vector
    ? input.filters ? VECTOR_FILTER_BYTES_PER_PIXEL : DECODE_BYTES_PER_PIXEL[input.format] ?? UNKNOWN_DECODE_BYTES_PER_PIXEL
    : decodeRate(input);
  // trim runs on the full-size input, before any resize; the other steps on the output-sized image, at the
  // input's depth until the first raw copy casts it to 8 bits.
  const trimmed = params.trim && !vector ? input.width * input.height : 0;
  const materialised = MATERIALISED_BYTES_PER_PIXEL * sampleBytes * (materialisingSteps(params) * outputPixels + trimmed);
  // PNG keeps 16 bits; the other encoders are handed 8-bit samples.
  const encodeRate = ENCODE_BYTES_PER_PIXEL[output.format] * (output.format === 'png' || output.format === 'png32' ? sampleBytes : 1);
  const faces = detectsFaces(params) ? FACE_DETECTION_BYTES : 0;
  const base = input.format === 'pdf' ? BASE_BYTES + pdfReaderBytes(input) : BASE_BYTES;
  return base + decodePixels * decodeBytesPerPixel + outputPixels * encodeRate + materialised + faces + layersCost(output, params, layers);
}

/** How many whole-image raw copies the steps of these parameters hold besides their layers (each at most once). */
function materialisingSteps(params: RenderParams): number {
  let steps = 0;
  if (params.rot !== undefined && params.rot % 90 !== 0) steps += 2; // the rotated canvas, then its crop
  if (params.blur !== undefined) steps++;
  if (params.px !== undefined) steps++;
  if (params.fill === 'blur') steps++;
  if (coversFaces(params)) steps++; // face-blur / face-pixel
  steps += toneCopies(params);
  steps += canvasLayers(params);
  return steps;
}

/** The PDF thread drawing a page of `input.pages` pages, and its own copy of the file. */
function pdfReaderBytes(input: InputInfo): number {
  return Math.min(PDF_READER_MAX_BYTES, PDF_READER_BYTES + (input.pages ?? 1) * PDF_PAGE_BYTES) + (input.encodedBytes ?? 0);
}

/**
 * Reading a PDF's structure (in a render process, before its render is planned): the render process, the
 * PDF thread at its largest (nothing is known of the document yet) and the copies of the file sent to
 * them (the message, the process's copy, the thread's copy).
 */
export function pdfPlanCost(inputBytes: number): RenderCost {
  return { bytes: BASE_BYTES + RENDER_PROCESS_BYTES + PDF_READER_MAX_BYTES + 3 * inputBytes, heavy: true, seconds: 0 };
}

/** `1.5 GB`, `320 MB`: for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(bytes / 1024 ** 2))} MB`;
}
