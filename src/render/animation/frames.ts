/**
 * Which frames of an animated input an output shows, for how long each, and how often it loops — from the
 * input's header (page count, delays, loop count) and the animation parameters, before anything is decoded.
 *
 * Order: `frame` picks one frame or a range; within a range `interval` keeps every Nth frame and `skip` drops
 * every Nth (both starting with the range's first); `reverse` turns the result around. Kept frames keep their
 * own delays unless `fps` replaces them all; `loop` replaces the source's loop count.
 */
import { PictorError } from '../../errors.ts';
import type { RenderParams } from '../render-params.ts';

/** imgix: "All GIFs processed through imgix must have fewer than 900 frames". */
export const MAX_FRAMES = 900;
/**
 * Every output frame together (frames × width × height). The frames of an animation are rendered and
 * encoded as one image, so this plays the part of the single-image output cap for them.
 */
export const MAX_ANIMATION_PIXELS = 2 ** 27;
/** What browsers show for a frame without a delay. */
const DEFAULT_DELAY_MS = 100;

/** The formats whose encoder writes animations (sharp 0.35's AVIF encoder writes one still image). */
const ANIMATED_FORMATS = new Set(['gif', 'webp']);

export interface InputFrames {
  /** Pages in the file (sharp's `pages`; absent for single-image formats). */
  pages?: number | undefined;
  /** Per-page delays in ms (sharp's `delay`). */
  delay?: number[] | undefined;
  /** The file's loop count (0 = forever). */
  loop?: number | undefined;
}

export interface FrameSelection {
  /** 0-based source pages, in output order (one entry for a still output). */
  frames: number[];
  /** Output delays in ms, one per entry of `frames`. */
  delays: number[];
  loop: number;
  /** The contiguous range of pages to decode: every selected page lies in first … first + count - 1. */
  first: number;
  count: number;
}

/** The input's frame count, refused over MAX_FRAMES before anything is decoded. */
export function frameCount(input: InputFrames): number {
  const pages = Math.max(1, input.pages ?? 1);
  if (pages > MAX_FRAMES) {
    throw new PictorError('INPUT_TOO_LARGE', `The animation has ${pages} frames, more than the limit of ${MAX_FRAMES}`);
  }
  return pages;
}

/** A still input (one page) ignores the animation parameters: its one frame is the selection. */
export function selectFrames(input: InputFrames, params: RenderParams): FrameSelection {
  const pages = frameCount(input);
  if (pages === 1) return { frames: [0], delays: [DEFAULT_DELAY_MS], loop: 0, first: 0, count: 1 };
  let frames = pickRange(params.frame, pages);
  if (frames.length > 1) {
    const interval = params.interval;
    const skip = params.skip;
    if (interval !== undefined) frames = frames.filter((_, i) => i % interval === 0);
    if (skip !== undefined) frames = frames.filter((_, i) => i % skip !== 0);
    if (params.reverse) frames.reverse();
  }
  const fpsDelay = params.fps === undefined ? undefined : Math.round(1000 / params.fps);
  const delays = frames.map((page) => fpsDelay ?? positiveDelay(input.delay?.[page]));
  const first = Math.min(...frames);
  const last = Math.max(...frames);
  return { frames, delays, loop: params.loop ?? input.loop ?? 0, first, count: last - first + 1 };
}

/** Whether the output keeps the animation: more than one frame, in a format that can carry it. */
export function isAnimatedOutput(selection: FrameSelection, format: string): boolean {
  return selection.frames.length > 1 && ANIMATED_FORMATS.has(format);
}

/** Refuses an animation whose frames together exceed MAX_ANIMATION_PIXELS (413, with what to change). */
export function checkAnimationSize(frames: number, width: number, height: number): void {
  const total = frames * width * height;
  if (total <= MAX_ANIMATION_PIXELS) return;
  throw new PictorError(
    'INPUT_TOO_LARGE',
    `The animation would have ${frames} frames of ${width}×${height} pixels (${total} in all), more than the limit of ` +
      `${MAX_ANIMATION_PIXELS}: ask for a smaller size (w, h) or fewer frames (frame, interval, skip)`,
  );
}

function pickRange(frame: number | string | undefined, pages: number): number[] {
  let from = 1;
  let to = pages;
  if (typeof frame === 'number') {
    from = frame;
    to = frame;
  } else if (frame !== undefined) {
    const [start = '', end = ''] = frame.split('-');
    from = Number(start);
    if (end !== '') to = Math.min(pages, Number(end));
  }
  if (from > pages) {
    throw new PictorError('INVALID_PARAMETER', `frame=${frame} asks for frame ${from}, but the animation has ${pages} frames`, { pointer: 'frame' });
  }
  const frames: number[] = [];
  for (let page = from - 1; page < to; page++) frames.push(page);
  return frames;
}

function positiveDelay(delay: number | undefined): number {
  return delay !== undefined && delay > 0 ? delay : DEFAULT_DELAY_MS;
}
