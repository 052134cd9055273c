/**
 * imgix's stylize group: blur, monochrome, sepia, px (pixelate). Applied after the adjustments.
 */
import { STAGE } from '../builder.ts';
import type { Matrix3x3 } from 'sharp';
import type { Rgba } from '../colors.ts';
import type { RenderParams } from '../render-params.ts';
import type { RenderContext } from './context.ts';

/** blur=20..2000 → gaussian sigma blur/20 (blur=20 → 1 px, 200 → 10, 2000 → 100): absolute, not size-relative. */
const BLUR_TO_SIGMA = 1 / 20;
/** Below blur=20 the sigma runs linearly from this (blur=0) up to 1 px, so every value from 1 changes the image. */
const BLUR_MIN_SIGMA = 0.3;
/**
 * libvips cuts the Gaussian mask where it falls under an amplitude (0.2 by default) and rounds it to integers;
 * a sub-pixel sigma then leaves a one-tap mask, the identity. The small sigmas get a float mask cut far lower.
 */
const FINE_MASK = { precision: 'float', minAmplitude: 0.01 } as const;
const REC709 = [0.2126, 0.7152, 0.0722] as const;
const SEPIA = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];
type Matrix3 = number[][];

export async function stylizeStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  if (params.blur !== undefined && params.blur > 0) {
    const sigma = blurSigma(params.blur);
    const options = sigma < 1 ? { sigma, ...FINE_MASK } : { sigma };
    await builder.add({ slots: ['blur'], from: STAGE.blur, apply: (image) => image.blur(options) });
  }
  const matrix = colourMatrix(params);
  if (matrix) {
    await builder.add({ slots: ['recomb'], from: STAGE.recomb, apply: (image) => image.recomb(matrix as Matrix3x3) });
  }
  if (params.px !== undefined) await pixelate(ctx, params.px);
}

/** imgix's blur value (0–2000) as a gaussian sigma in pixels; continuous at blur=20 (sigma 1). */
export function blurSigma(blur: number): number {
  const linear = blur * BLUR_TO_SIGMA;
  return linear >= 1 ? linear : BLUR_MIN_SIGMA + (1 - BLUR_MIN_SIGMA) * linear;
}

/**
 * monochrome and sepia as one 3×3 `recomb` (keeps 3 bands; greyscale() would drop to 1, see the notes).
 * monochrome: luminance times the colour, mixed with the original by the colour's alpha (ARGB's A).
 * sepia: the classic sepia matrix mixed with the original by sepia/100.
 */
export function colourMatrix(params: RenderParams): Matrix3 | undefined {
  let matrix: Matrix3 | undefined;
  if (params.monochrome) matrix = monochromeMatrix(params.monochrome);
  if (params.sepia !== undefined) {
    const t = Math.min(1, Math.max(0, params.sepia / 100));
    const sepia = mix(SEPIA, identity(), t);
    matrix = matrix ? multiply(sepia, matrix) : sepia;
  }
  return matrix;
}

function monochromeMatrix(color: Rgba): Matrix3 {
  const tint = [color.r, color.g, color.b].map((c) => REC709.map((weight) => (weight * c) / 255));
  return mix(tint, identity(), color.a / 255);
}

/** Blocks of px×px pixels: scale down, then back up with nearest-neighbour (two resizes, two pipelines). */
async function pixelate(ctx: RenderContext, size: number): Promise<void> {
  const { builder } = ctx;
  const { width, height } = builder;
  const small = { width: Math.max(1, Math.round(width / size)), height: Math.max(1, Math.round(height / size)) };
  await builder.add({ slots: ['resize'], from: STAGE.resize, geometric: true, apply: (image) => image.resize(small.width, small.height, { fit: 'fill' }) });
  await builder.add({
    slots: ['resize'],
    from: STAGE.resize,
    geometric: true,
    apply: (image) => image.resize(width, height, { fit: 'fill', kernel: 'nearest' }),
  });
}

function identity(): Matrix3 {
  return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
}

function mix(a: Matrix3, b: Matrix3, t: number): Matrix3 {
  return a.map((row, i) => row.map((v, j) => v * t + b[i]![j]! * (1 - t)));
}

function multiply(a: Matrix3, b: Matrix3): Matrix3 {
  return a.map((row) => [0, 1, 2].map((j) => row.reduce((sum, v, k) => sum + v * b[k]![j]!, 0)));
}
