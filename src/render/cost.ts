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
 *   AVIF/HEIF) cost several bytes per input pixel.
 * - Encoders that need the whole image (AVIF most of all, WebP, JPEG with optimised Huffman tables, palette
 *   quantisation) cost bytes per output pixel; PNG streams.
 * - Steps that materialise the whole image (trim, arbitrary rotation, blur, pixelate, fill=blur, blends,
 *   watermarks and text) hold a raw RGBA copy of it; so does each whole-image layer of masks, rounded borders
 *   and gradient fills.
 * - Vector inputs are rasterised at the size the output needs; they are always heavy (their rasteriser can
 *   neither be bounded in time nor interrupted from within the process). So are PDFs, whose page is drawn
 *   at the raster size the caller passes as the input's (pdf/pdf-source.ts plans it).
 */
import { HEAVY_RENDER_BYTES, lightReserve } from '../config/render-budget.ts';
import { decodeBatchFrames, type AnimationMode } from './animation/render.ts';
import { canvasLayers } from './canvas-params.ts';
import type { OutputFormat } from './encode.ts';
import { coversFaces, detectsFaces } from './faces-params.ts';
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
}

/** Fixed overhead of any render (pipeline state, the encoded input and output buffers of small images). */
const BASE_BYTES = 4 * 1024 * 1024;

const DECODE_BYTES_PER_PIXEL: Record<string, number> = {
  jpeg: 0.1,
  png: 0.5,
  webp: 1,
  tiff: 0.5,
  gif: 4,
  avif: 20,
  heif: 20,
  svg: 4,
  // pdf.js draws on an RGBA canvas, which is read back (a copy) and packed to RGB for sharp: per raster pixel.
  pdf: 14,
};
/** SVG filter effects (blurs, offsets, composites) each take whole-image surfaces of the raster. */
const VECTOR_FILTER_BYTES_PER_PIXEL = 30;
/** Progressive JPEG keeps every DCT coefficient; interlaced PNG the whole decoded image. */
const PROGRESSIVE_DECODE_BYTES_PER_PIXEL = 3.5;
/** An input format not listed above: assume it is decoded whole, as RGBA. */
const UNKNOWN_DECODE_BYTES_PER_PIXEL = 4;

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
 * Face detection: its input and output tensors and the inference's working memory, per render. (The model
 * and its runtime, loaded once per process, are not per render.)
 */
const FACE_DETECTION_BYTES = 24 * 1024 * 1024;
/** The encoded frames an animated output accumulates before it is written (WebP's muxer, GIF's buffer). */
const ANIMATED_ENCODED_BYTES_PER_PIXEL = 1;
/** pdf.js itself beside the page raster: the parsed document, its fonts and decoded embedded images. */
const PDF_BASE_BYTES = 64 * 1024 * 1024;

/** A raw RGBA copy of the output-sized image, held by steps that materialise it. */
const MATERIALISED_BYTES_PER_PIXEL = 4;

export const VECTOR_FORMATS = new Set(['svg']);

/**
 * An animated output (animation/render.ts): the native way decodes and encodes frame after frame, holding
 * about one frame of each plus the encoded result; the per-frame way holds a batch of decoded frames and
 * every rendered frame as raw RGBA, and each frame's steps one at a time.
 */
function animationCost(input: InputInfo, output: OutputInfo, params: RenderParams, mode: AnimationMode): number {
  const framePixels = input.width * input.height;
  const outputPixels = output.width * output.height;
  const frames = Math.max(1, output.frames ?? 1);
  const decodeRate = DECODE_BYTES_PER_PIXEL[input.format] ?? UNKNOWN_DECODE_BYTES_PER_PIXEL;
  const encodeRate = ENCODE_BYTES_PER_PIXEL[output.format];
  const oneFrame = framePixels * decodeRate + outputPixels * encodeRate;
  if (mode === 'native') return BASE_BYTES + oneFrame + frames * outputPixels * ANIMATED_ENCODED_BYTES_PER_PIXEL;
  // Twice each: a finished batch and each frame's own output buffer wait for the garbage collector (counted
  // once, the estimate came out at half the measured peak of a large GIF with a watermark).
  const decoded = Math.min(input.frames, decodeBatchFrames(input.width, input.height)) * framePixels;
  const stacks = 2 * MATERIALISED_BYTES_PER_PIXEL * (decoded + frames * outputPixels);
  const steps = MATERIALISED_BYTES_PER_PIXEL * (materialisingSteps(params) * outputPixels + (params.trim ? framePixels : 0));
  return BASE_BYTES + oneFrame + stacks + steps + frames * outputPixels * ANIMATED_ENCODED_BYTES_PER_PIXEL;
}

export function estimateRenderCost(input: InputInfo, output: OutputInfo, params: RenderParams, animation?: AnimationMode): RenderCost {
  if (animation) {
    const bytes = Math.ceil(animationCost(input, output, params, animation));
    return { bytes, heavy: bytes >= HEAVY_RENDER_BYTES };
  }
  const inputPixels = input.width * input.height * Math.max(1, input.frames);
  const outputPixels = output.width * output.height;
  const vector = VECTOR_FORMATS.has(input.format);
  // A vector input is rasterised at (about) the output's size, whatever size it declares.
  const decodePixels = vector ? outputPixels : inputPixels;
  const decodeRate = vector
    ? input.filters ? VECTOR_FILTER_BYTES_PER_PIXEL : DECODE_BYTES_PER_PIXEL[input.format] ?? UNKNOWN_DECODE_BYTES_PER_PIXEL
    : input.progressive ? PROGRESSIVE_DECODE_BYTES_PER_PIXEL : DECODE_BYTES_PER_PIXEL[input.format] ?? UNKNOWN_DECODE_BYTES_PER_PIXEL;
  // trim runs on the full-size input, before any resize; the other steps on the output-sized image.
  const trimmed = params.trim && !vector ? input.width * input.height : 0;
  const materialised = MATERIALISED_BYTES_PER_PIXEL * (materialisingSteps(params) * outputPixels + trimmed);
  const faces = detectsFaces(params) ? FACE_DETECTION_BYTES : 0;
  const base = input.format === 'pdf' ? BASE_BYTES + PDF_BASE_BYTES : BASE_BYTES;
  const bytes = Math.ceil(base + decodePixels * decodeRate + outputPixels * ENCODE_BYTES_PER_PIXEL[output.format] + materialised + faces);
  return { bytes, heavy: vector || input.format === 'pdf' || bytes >= HEAVY_RENDER_BYTES };
}

/** How many whole-image raw copies the steps of these parameters hold (each of them at most once). */
function materialisingSteps(params: RenderParams): number {
  let steps = 0;
  if (params.rot !== undefined && params.rot % 90 !== 0) steps += 2; // the rotated canvas, then its crop
  if (params.blur !== undefined) steps++;
  if (params.px !== undefined) steps++;
  if (params.fill === 'blur') steps++;
  if (params.mark !== undefined || params.blend !== undefined) steps++;
  if (params.txt !== undefined) steps += 3; // the text layer and its masks (at most the image's size), the composite
  if (coversFaces(params)) steps++; // face-blur / face-pixel
  steps += toneCopies(params);
  steps += canvasLayers(params);
  return steps;
}

/**
 * Reading a PDF's structure (in a render process, before its render is planned): pdf.js and its copy of
 * the file, the cross-reference table and the objects it indexes, bounded by the file's size.
 */
export function pdfPlanCost(inputBytes: number): RenderCost {
  return { bytes: BASE_BYTES + PDF_BASE_BYTES + inputBytes * 4, heavy: true };
}

/** `1.5 GB`, `320 MB`: for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(bytes / 1024 ** 2))} MB`;
}
