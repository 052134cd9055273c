/**
 * imgix's adjustment group: gam, sat, hue, sharp, exp, con, bri, invert. Added in sharp's own stage order
 * (gamma → modulate → sharpen → linear → negate) so that they share one pipeline.
 *
 * Mappings follow Core Image's colour controls, which imgix's ranges mirror; none is calibrated against
 * imgix's output yet (UNCONFIRMED), so each factor is one named constant.
 */
import { STAGE } from '../builder.ts';
import type { RenderParams } from '../render-params.ts';
import type { RenderContext } from './context.ts';

/** bri=±100 adds ±255 × this to every channel. */
const BRIGHTNESS_RANGE = 0.5;
/** exp=±100 is ±this many stops, applied as a gain on the sRGB values. */
const EXPOSURE_STOPS = 2;
/** gam=±100 is a power curve with exponent 1/(1+this) (brighter) … 1+this (darker); sharp allows 1..3. */
const GAMMA_RANGE = 2;

export async function adjustStep(ctx: RenderContext): Promise<void> {
  const { params, builder } = ctx;
  if (params.gam !== undefined) {
    // sharp: gamma(g, 1) darkens (x^g), gamma(1, g) brightens (x^(1/g)).
    const power = 1 + (GAMMA_RANGE * Math.abs(params.gam)) / 100;
    const [gIn, gOut] = params.gam > 0 ? [1, power] : [power, 1];
    await builder.add({ slots: ['gamma'], from: STAGE.gammaIn, to: STAGE.gammaOut, apply: (image) => image.gamma(gIn, gOut) });
  }
  if (params.sat !== undefined || params.hue !== undefined) {
    // saturation is a multiplier (sat=-100 → 0: greyscale, still 3 bands); hue is additive degrees.
    const saturation = 1 + (params.sat ?? 0) / 100;
    const hue = Math.round(params.hue ?? 0);
    await builder.add({ slots: ['modulate'], from: STAGE.modulate, apply: (image) => image.modulate({ saturation, hue }) });
  }
  if (params.sharp !== undefined) {
    const amount = params.sharp / 100;
    const options = { sigma: 0.5 + amount * 1.5, m1: 1, m2: 2 + amount * 8 };
    await builder.add({ slots: ['sharpen'], from: STAGE.sharpen, apply: (image) => image.sharpen(options) });
  }
  const linear = linearAdjustment(params);
  if (linear) {
    await builder.add({ slots: ['linear'], from: STAGE.linear, apply: (image) => image.linear(linear.a, linear.b) });
  }
  if (params.invert) {
    await builder.add({ slots: ['negate'], from: STAGE.negate, apply: (image) => image.negate({ alpha: false }) });
  }
}

/**
 * exp, con and bri folded into one `a·x + b` (sharp leaves alpha alone for a single factor):
 * exposure is a gain, contrast pivots on mid-grey, brightness is an offset (`modulate` cannot lift black).
 */
export function linearAdjustment(params: RenderParams): { a: number; b: number } | undefined {
  if (params.exp === undefined && params.con === undefined && params.bri === undefined) return undefined;
  const gain = 2 ** ((EXPOSURE_STOPS * (params.exp ?? 0)) / 100);
  const contrast = 1 + (params.con ?? 0) / 100;
  const offset = 255 * BRIGHTNESS_RANGE * ((params.bri ?? 0) / 100);
  return { a: gain * contrast, b: 128 * (1 - contrast) + offset };
}
