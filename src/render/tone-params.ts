/**
 * imgix's tone and texture parameters — `duotone`, `duotone-alpha`, `usm`, `usmrad`, `high`, `shad`, `vib`,
 * `htn`, `nr`, `nrs`, `colorquant` — normalised into `RenderParams`. The rendering is in steps/tone.ts.
 *
 * Like the rest of normalize.ts: values that change nothing are dropped, and so are parameters whose
 * `depends` are unmet, so that equivalent URLs share one cache entry. The validator has already clamped
 * every value to the manifest's range (values.ts), so only the ranges the manifest leaves open are bounded here.
 */
import type { Rgba } from './colors.ts';
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const TONE_PARAMS: readonly string[] = [
  'duotone', 'duotone-alpha', 'usm', 'usmrad', 'high', 'shad', 'vib', 'htn', 'nr', 'nrs', 'colorquant',
];

/** imgix defaults (manifest). */
const USM_RADIUS = 2.5;
const NOISE_DEFAULT = 20;
/** An unsharp-mask radius beyond this only costs time: the blur then flattens everything it touches. */
const MAX_USM_RADIUS = 100;

export function normalizeTone(p: RenderParams, read: Reader): void {
  const duotone = read.list('duotone') as Rgba[] | undefined;
  const duotoneAlpha = read.num('duotone-alpha') ?? 100;
  if (duotone && duotoneAlpha > 0) {
    p.duotone = [duotone[0]!, duotone[1]!];
    if (duotoneAlpha < 100) p['duotone-alpha'] = duotoneAlpha;
  }

  const usm = read.num('usm') ?? 0;
  const usmrad = Math.min(MAX_USM_RADIUS, read.num('usmrad') ?? USM_RADIUS);
  // A radius of 0 blurs nothing, so the mask (image minus its blur) is empty.
  if (usm !== 0 && usmrad > 0) {
    p.usm = usm;
    if (usmrad !== USM_RADIUS) p.usmrad = usmrad;
  }

  for (const name of ['high', 'shad', 'vib', 'htn'] as const) {
    const value = read.num(name);
    if (value !== undefined && value !== 0) p[name] = value;
  }

  // imgix: noise reduction runs when either nr or nrs is given; the other then takes its default.
  const nr = read.num('nr');
  const nrs = read.num('nrs');
  if (nr !== undefined || nrs !== undefined) {
    const level = nr ?? NOISE_DEFAULT;
    const sharpen = nrs ?? NOISE_DEFAULT;
    // A level at or below 0 smooths nothing; with no sharpening either, the image is unchanged.
    if (level > 0 || sharpen !== 0) {
      p.nr = Math.max(0, level);
      p.nrs = sharpen;
    }
  }

  const colors = read.num('colorquant');
  if (colors !== undefined) p.colorquant = colors;
}

/** How many whole-image raw copies these parameters' steps hold at once, for the memory estimate (cost.ts). */
export function toneCopies(params: RenderParams): number {
  let copies = 0;
  if (params.high !== undefined || params.shad !== undefined || params.vib !== undefined) copies++;
  if (params.duotone !== undefined || params.htn !== undefined) copies++;
  // The image and its blurred copy.
  if (params.usm !== undefined || params.nr !== undefined) copies += 2;
  // The image, its palette PNG decoded back, and the remapped copy.
  if (params.colorquant !== undefined) copies += 3;
  return copies;
}
