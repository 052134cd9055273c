/**
 * imgix's tone and texture parameters, in three steps placed in imgix's order:
 * - toneAdjustStep, after the adjustments: nr/nrs (noise reduction), then high/shad/vib, then usm;
 * - toneStylizeStep, after the other stylize effects: duotone, then htn (halftone);
 * - colorquantStep, last before encoding, so that nothing after it can add colours.
 * sharp has no operation for these, so each rewrites raw pixels in JS (tone/pixels.ts, tone/quantize.ts).
 */
import type { OutputInfo } from 'sharp';
import { detail, duotone, halftone, toneCurves, type RawImage } from '../tone/pixels.ts';
import { quantize } from '../tone/quantize.ts';
import type { RenderContext } from './context.ts';

/** usm=100 adds this many times the mask (the image minus its blur); usmrad is the blur's sigma in pixels. */
const USM_GAIN = 1;
const USM_RADIUS = 2.5;
/**
 * Noise reduction compares each pixel with a blur of this sigma: differences up to NOISE_LEVELS × nr/100
 * (in 0–255 levels) count as noise and are smoothed, larger ones as edges, sharpened by nrs/100.
 */
const NOISE_SIGMA = 1.5;
const NOISE_LEVELS = 48;

export async function toneAdjustStep(ctx: RenderContext): Promise<void> {
  const { params } = ctx;
  if (params.nr !== undefined) {
    await withBlur(ctx, NOISE_SIGMA, (image, blurred) => detail(image, blurred, (NOISE_LEVELS * params.nr!) / 100, (params.nrs ?? 0) / 100));
  }
  if (params.high !== undefined || params.shad !== undefined || params.vib !== undefined) {
    await rewrite(ctx, (image) => toneCurves(image, params));
  }
  if (params.usm !== undefined) {
    const amount = (USM_GAIN * params.usm) / 100;
    await withBlur(ctx, params.usmrad ?? USM_RADIUS, (image, blurred) => detail(image, blurred, 0, amount));
  }
}

export async function toneStylizeStep(ctx: RenderContext): Promise<void> {
  const { params } = ctx;
  const colors = params.duotone;
  if (colors) {
    const alpha = (params['duotone-alpha'] ?? 100) / 100;
    await rewrite(ctx, (image) => duotone(image, colors[0], colors[1], alpha));
  }
  if (params.htn !== undefined) {
    const strength = params.htn;
    await rewrite(ctx, (image) => halftone(image, strength));
  }
}

export async function colorquantStep(ctx: RenderContext): Promise<void> {
  const { params, builder, output } = ctx;
  if (params.colorquant === undefined || output.format === 'blurhash') return;
  // Quantising is asynchronous (it runs sharp's palette encoder), so it works on a copy of the pixels
  // that is then written back; materialising first keeps the queued work from running twice.
  await builder.materialize();
  const { data, info } = await builder.branch((image) => image.toColourspace('srgb'));
  await quantize(rawImage(data, info), params.colorquant, (image) => builder.exec(image));
  await builder.transformPixels((target) => data.copy(target));
}

async function rewrite(ctx: RenderContext, transform: (image: RawImage) => void): Promise<void> {
  await ctx.builder.transformPixels((data, info) => transform(rawImage(data, info)));
}

/** Runs `transform` on the current pixels with a copy blurred by `sigma` (same size and bands) beside them. */
async function withBlur(ctx: RenderContext, sigma: number, transform: (image: RawImage, blurred: Buffer) => void): Promise<void> {
  const { builder } = ctx;
  // One decode of the queued work, then two cheap pipelines over its raw pixels. The blur's mask is in
  // floating point: libvips' integer mask shifts flat areas by a level or two, which the mask would amplify.
  await builder.materialize();
  const { data: blurred } = await builder.branch((image) => image.toColourspace('srgb').blur({ sigma: Math.max(0.3, sigma), precision: 'float' }));
  await builder.transformPixels((data, info) => transform(rawImage(data, info), blurred));
}

function rawImage(data: Buffer, info: OutputInfo): RawImage {
  return { data, width: info.width, height: info.height, channels: info.channels };
}
