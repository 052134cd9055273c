/**
 * imgix's animation parameters (`frame`, `fps`, `loop`, `reverse`, `skip`, `interval`): normalisation into
 * `RenderParams`. Whether the input is animated is only known at render time (animation/frames.ts), so these
 * are kept whenever they could change an animated output; a still input ignores them.
 */
import { PictorError } from '../errors.ts';
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const ANIMATION_PARAMS: readonly string[] = ['frame', 'fps', 'loop', 'reverse', 'skip', 'interval'];

/** GIF stores the loop count in 16 bits; a larger count plays as long as anyone watches. */
const MAX_LOOP = 65535;
/** Far beyond any animation a render accepts (animation/frames.ts): larger numbers are refused as they are read. */
const MAX_FRAME_NUMBER = 1_000_000;
/** A delay of 10 ms (GIF's resolution) is the fastest any viewer plays: faster rates are the same output. */
const MAX_FPS = 100;

export function normalizeAnimation(p: RenderParams, read: Reader): void {
  const frame = normalizeFrame(read.num('frame') ?? read.str('frame'));
  if (frame !== undefined) p.frame = frame;
  const fps = read.num('fps');
  if (fps !== undefined) p.fps = Math.min(MAX_FPS, Math.max(1, fps));
  // Kept even when 0 (imgix's default): without `loop` the source's own loop count is kept.
  const loop = read.num('loop');
  if (loop !== undefined) p.loop = Math.min(MAX_LOOP, Math.max(0, loop));
  if (read.bool('reverse') === true) p.reverse = true;
  const interval = read.num('interval');
  if (interval !== undefined && interval > 1) p.interval = interval; // every frame: the identity
  const skip = read.num('skip');
  if (skip !== undefined) {
    if (skip < 2) {
      throw new PictorError('INVALID_PARAMETER', 'skip must be at least 2: skip=1 would remove every frame', { pointer: 'skip' });
    }
    p.skip = skip;
  }
}

/**
 * One frame (1-based) stays a number; a range becomes "M-N" or "M-" (open end); "-N" is "1-N"; a range of
 * one frame is that frame; "1-" and "-" (every frame) are dropped.
 */
function normalizeFrame(value: number | string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const [fromText = '', toText = ''] = typeof value === 'number' ? [String(value), String(value)] : value.split('-');
  const from = fromText === '' ? 1 : Number(fromText);
  const to = toText === '' ? undefined : Number(toText);
  if (from < 1 || (to !== undefined && to < 1)) {
    throw new PictorError('INVALID_PARAMETER', `frame counts from 1, got "${value}"`, { pointer: 'frame' });
  }
  if (from > MAX_FRAME_NUMBER || (to ?? 0) > MAX_FRAME_NUMBER) {
    throw new PictorError('INVALID_PARAMETER', `frame must be at most ${MAX_FRAME_NUMBER}, got "${value}"`, { pointer: 'frame' });
  }
  if (to !== undefined && to < from) {
    throw new PictorError('INVALID_PARAMETER', `frame range "${value}" ends before it starts`, { pointer: 'frame' });
  }
  if (to === from) return from;
  if (to === undefined) return from === 1 ? undefined : `${from}-`;
  return `${from}-${to}`;
}
