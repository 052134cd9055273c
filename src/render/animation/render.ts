/**
 * Renders an animated output (GIF or WebP) from an animated input, running the same steps as a still
 * image. Two ways, chosen from the parameters before anything is decoded (so that cost.ts charges the one
 * that runs):
 *
 * - native: one sharp pipeline over every frame at once (`animated`/`pages`), for parameters whose sharp
 *   operations work page by page on libvips' stack of frames (resize, crops, extend, pointwise colour).
 *   Frames are decoded and encoded one after another, so memory stays about one frame's.
 * - per frame: the frames are decoded into raw pixels a batch at a time, every step runs on each frame in its
 *   own pipeline (marks, blends, rotations, blurs, trims, anything new), and the rendered frames are encoded
 *   together. A batch holds at most DECODE_BATCH_BYTES of decoded frames; a later batch decodes its pages
 *   again from the start of the file (GIF and WebP frames build on the previous ones), which costs time only
 *   when an animation is larger than one batch.
 *
 * The native builder refuses any operation it cannot run page by page, so a parameter that needs more than
 * the list below expects falls back to per frame instead of rendering a wrong animation.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { PipelineBuilder, type BuilderInit, type Op, type Slot } from '../builder.ts';
import type { RenderParams } from '../render-params.ts';
import type { FrameSelection } from './frames.ts';

export type AnimationMode = 'native' | 'frames';

/** Decoded frames held at once by the per-frame way (cost.ts charges it). */
export const DECODE_BATCH_BYTES = 32 * 1024 * 1024;

/** How many frames of this size one batch decodes. */
export function decodeBatchFrames(width: number, height: number): number {
  return Math.max(1, Math.floor(DECODE_BATCH_BYTES / (width * height * 4)));
}

/** sharp slots whose operation libvips applies to each page of a multi-page image (pipeline.cc, *MultiPage). */
const PAGE_SAFE_SLOTS = new Set<Slot>([
  'extractPre', 'extractPost', 'resize', 'extend', 'flatten', 'gamma', 'recomb', 'modulate', 'linear', 'negate',
]);

/**
 * Parameters whose steps only use page-safe operations. Anything else — including parameters added later —
 * renders per frame. bg only when opaque (a flatten; a translucent bg is composited), crop only directions.
 */
const NATIVE_PARAMS = new Set([
  'w', 'h', 'fit', 'crop', 'ar', 'rect', 'dpr', 'max-w', 'max-h', 'min-w', 'min-h', 'fp-x', 'fp-y', 'fp-z',
  'fm', 'q', 'lossless', 'auto', 'bg', 'fill-color', 'pad', 'pad-top', 'pad-right', 'pad-bottom', 'pad-left',
  'gam', 'sat', 'hue', 'exp', 'con', 'bri', 'invert', 'monochrome', 'sepia', 'frame', 'fps', 'loop',
]);
/** sharp's content-aware crop strategies throw on multi-page images. */
const PAGE_UNSAFE_CROPS = new Set(['entropy', 'edges']);

/** Whether one native pipeline renders this animation correctly. */
export function animationMode(params: RenderParams, selection: FrameSelection): AnimationMode {
  const contiguous = selection.frames.every((page, i) => page === selection.first + i);
  if (!contiguous) return 'frames';
  for (const [name, value] of Object.entries(params)) {
    if (!NATIVE_PARAMS.has(name)) return 'frames';
    if (name === 'crop' && (value as string[]).some((mode) => PAGE_UNSAFE_CROPS.has(mode))) return 'frames';
  }
  if (params.bg && params.bg.a !== 255) return 'frames';
  return 'native';
}

export interface AnimationJob {
  input: Buffer;
  selection: FrameSelection;
  /** The size of one source frame. */
  width: number;
  height: number;
  hasAlpha: boolean;
  maxInputPixels: number;
  deadline: number | undefined;
  /** Runs the render steps on a builder (pipeline.ts' step list). */
  runSteps(builder: PipelineBuilder): Promise<void>;
  /** Sets the encoder, with the frames' delays and loop count, on the final pipeline. */
  encode(image: Sharp): Sharp;
}

/** The encoded animation and its info (`height` is the height of one frame). */
export async function renderAnimation(job: AnimationJob, mode: AnimationMode): Promise<{ data: Buffer; info: OutputInfo }> {
  if (mode === 'native') {
    try {
      return await renderNative(job);
    } catch (error) {
      if (!(error instanceof NotPageSafe)) throw error;
    }
  }
  return renderPerFrame(job);
}

async function renderNative(job: AnimationJob): Promise<{ data: Buffer; info: OutputInfo }> {
  const { selection } = job;
  const builder = new PageSafeBuilder({
    input: job.input,
    options: { page: selection.first, pages: selection.count, limitInputPixels: job.maxInputPixels, failOn: 'error', autoOrient: false },
    width: job.width,
    height: job.height,
    hasAlpha: job.hasAlpha,
    deadline: job.deadline,
  });
  await job.runSteps(builder);
  const { data, info } = await builder.finish((image) => job.encode(image));
  return { data, info: { ...info, height: info.pageHeight ?? info.height } };
}

async function renderPerFrame(job: AnimationJob): Promise<{ data: Buffer; info: OutputInfo }> {
  const { selection } = job;
  // The rendered frames go straight into one stack (sized from the first frame), never copied again.
  let stack: Buffer | undefined;
  let size: { width: number; height: number } | undefined;
  let builder: PipelineBuilder | undefined;
  const batchFrames = decodeBatchFrames(job.width, job.height);
  let batch: { first: number; count: number; data: Buffer; channels: 1 | 2 | 3 | 4 } | undefined;
  for (const [index, page] of selection.frames.entries()) {
    if (!batch || page < batch.first || page >= batch.first + batch.count) {
      batch = undefined; // released before the next batch is decoded
      // Batches follow the output order (reversed animations decode backwards, one batch at a time).
      const ascending = index + 1 >= selection.frames.length || selection.frames[index + 1]! > page;
      const first = ascending ? page : Math.max(selection.first, page - batchFrames + 1);
      const count = Math.min(batchFrames, selection.first + selection.count - first);
      batch = await decodeFrames(job, first, count);
    }
    const frameBytes = job.width * job.height * batch.channels;
    const offset = (page - batch.first) * frameBytes;
    builder = new PipelineBuilder({
      input: batch.data.subarray(offset, offset + frameBytes),
      options: { raw: { width: job.width, height: job.height, channels: batch.channels }, limitInputPixels: false },
      width: job.width,
      height: job.height,
      hasAlpha: batch.channels === 2 || batch.channels === 4,
      deadline: job.deadline,
    });
    await job.runSteps(builder);
    // Every frame in the same shape: RGBA, and the first frame's size (a content-dependent step such as
    // trim may find another box in a later frame; it is scaled to the first).
    const target = size;
    const rendered = { width: builder.width, height: builder.height };
    const { data, info } = await builder.finish((image) => {
      const sized = target && (rendered.width !== target.width || rendered.height !== target.height)
        ? image.resize(target.width, target.height, { fit: 'fill' })
        : image;
      return sized.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' });
    });
    size ??= { width: info.width, height: info.height };
    stack ??= Buffer.allocUnsafe(data.length * selection.frames.length);
    data.copy(stack, index * data.length);
  }
  batch = undefined;
  const { width, height } = size!;
  const joined = sharp(stack!, { raw: { width, height: height * selection.frames.length, channels: 4, pageHeight: height }, limitInputPixels: false });
  const result = await builder!.exec(job.encode(joined)); // under the same deadline and error mapping
  return { data: result.data, info: { ...result.info, width, height } };
}

/** Pages first … first + count - 1 as raw 8-bit sRGB, one under the other. */
async function decodeFrames(job: AnimationJob, first: number, count: number): Promise<{ first: number; count: number; data: Buffer; channels: 1 | 2 | 3 | 4 }> {
  const decoder = new PipelineBuilder({
    input: job.input,
    options: { page: first, pages: count, limitInputPixels: job.maxInputPixels, failOn: 'error', autoOrient: false },
    width: job.width,
    height: job.height * count,
    hasAlpha: job.hasAlpha,
    deadline: job.deadline,
  });
  const { data, info } = await decoder.finish((image) => image.toColourspace('srgb').raw({ depth: 'uchar' }));
  return { first, count, data, channels: info.channels as 1 | 2 | 3 | 4 };
}

/** Thrown by PageSafeBuilder: this render needs the per-frame way. */
class NotPageSafe extends Error {}

/**
 * A builder over a multi-page image that accepts only operations libvips runs page by page, and never
 * materialises (raw pixels would lose the page structure): anything else throws NotPageSafe before any
 * pixel work starts.
 */
class PageSafeBuilder extends PipelineBuilder {
  override readonly pixelAccess = false;

  constructor(init: BuilderInit) {
    super(init);
  }

  override async add(op: Op): Promise<void> {
    if (!op.slots.every((slot) => PAGE_SAFE_SLOTS.has(slot))) throw new NotPageSafe();
    return super.add(op);
  }

  override materialize(): Promise<void> {
    return Promise.reject(new NotPageSafe());
  }

  override transformPixels(): Promise<void> {
    return Promise.reject(new NotPageSafe());
  }

  override branch(): Promise<{ data: Buffer; info: OutputInfo }> {
    return Promise.reject(new NotPageSafe());
  }
}
