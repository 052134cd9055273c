/**
 * render(): bytes + normalised params → encoded output. A list of small steps over one context, in
 * imgix's order (orient → trim → rect → fit → flip/rot → adjust → stylize → pad → blend → mark → bg → cap
 * → encode);
 * the PipelineBuilder packs them into as few sharp pipelines as their order allows.
 */
import sharp, { type Metadata } from 'sharp';
import { exactCopy } from '../cache/footprint.ts';
import { PictorError } from '../errors.ts';
import { PipelineBuilder } from './builder.ts';
import { renderBlurhash, renderJson, renderPalette } from './data-outputs.ts';
import type { DecodedMasters } from './decoded-masters.ts';
import { contentTypeFor } from './detect.ts';
import { estimateRenderCost, type RenderCost } from './cost.ts';
import { applyEncoder, chooseOutput, reportedFormat, type OutputPlan } from './encode.ts';
import { planGeometry, type OutputLimits, type Size } from './geometry.ts';
import type { RenderParams } from './render-params.ts';
import { mapSharpError } from './sharp-errors.ts';
import { adjustStep } from './steps/adjust.ts';
import { blendStep } from './steps/blend.ts';
import { backgroundStep, capStep, padStep } from './steps/canvas.ts';
import type { RenderContext, RenderStep } from './steps/context.ts';
import { orientStep, rectStep, resizeStep, trimStep } from './steps/geometry-steps.ts';
import { markStep } from './steps/mark.ts';
import { flipStep, rotateStep } from './steps/rotate.ts';
import { stylizeStep } from './steps/stylize.ts';

export interface RenderOptions {
  /** From negotiate.acceptClass(): '' | 'avif' | 'webp' | 'none'. */
  acceptClass: string;
  /** Inputs with more pixels (width × height, from the header) are refused with INPUT_TOO_LARGE. */
  maxInputPixels: number;
  /** The largest output, padding included; larger results are scaled down keeping the aspect ratio. */
  limits?: OutputLimits;
  /** Whole-render budget; exceeding it gives RENDER_TIMEOUT. */
  timeoutSeconds?: number;
  /** Render from decoded, pre-shrunk copies of the master; `masterKey` names the master's exact bytes. */
  decoded?: { masters: DecodedMasters; masterKey: string };
  /**
   * The fetched (and, if their reference had a query, already rendered) sub-images named by
   * `subImageRefs(params)`: encoded bytes in any format sharp reads. A layer whose buffer is absent is
   * skipped; an undecodable one fails with UNSUPPORTED_IMAGE (pointer `mark` / `blend`).
   */
  subImages?: { mark?: Buffer; blend?: Buffer };
}

export interface RenderResult {
  body: Buffer;
  contentType: string;
  /** jpg | png | webp | avif | gif | json | blurhash | css */
  format: string;
  width?: number;
  height?: number;
}

/** What a render will be, known from the input's header alone: checked and costed before it is admitted. */
export interface PreparedRender {
  metadata: Metadata;
  output: OutputPlan;
  /** The final size the render plans (an upper bound when `rect` or `trim` cut the source first). */
  size: Size;
  cost: RenderCost;
}

/** imgix's output cap: 8192 px a side (and so at most 8192² pixels). */
export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxSide: 8192, maxPixels: 8192 * 8192 };

const STEPS: readonly RenderStep[] = [
  orientStep,
  trimStep,
  rectStep,
  resizeStep,
  flipStep,
  rotateStep,
  adjustStep,
  stylizeStep,
  padStep,
  blendStep,
  markStep,
  backgroundStep,
  capStep,
];

/**
 * Reads the input's header (no pixels) and plans the output: refuses inputs over the pixel limit, and
 * estimates the render's memory so that it can be admitted (or refused) before any decoding.
 */
export async function prepareRender(input: Buffer, params: RenderParams, options: Pick<RenderOptions, 'acceptClass' | 'maxInputPixels' | 'limits'>): Promise<PreparedRender> {
  const metadata = await readHeader(input);
  const maxInputPixels = Math.max(1, Math.floor(options.maxInputPixels));
  if (metadata.width * metadata.height > maxInputPixels) {
    throw new PictorError(
      'INPUT_TOO_LARGE',
      `The source image is ${metadata.width}×${metadata.height} pixels, more than the limit of ${maxInputPixels}`,
    );
  }
  const sourceFormat = String(metadata.format);
  const output = chooseOutput(params, sourceFormat, metadata.hasAlpha, options.acceptClass);
  const source = params.orient === undefined ? metadata.autoOrient : { width: metadata.width, height: metadata.height };
  const size = output.format === 'json' ? { width: 0, height: 0 } : planGeometry(source, params, options.limits ?? DEFAULT_OUTPUT_LIMITS).output;
  const cost = estimateRenderCost(
    {
      format: sourceFormat,
      width: metadata.width,
      height: metadata.height,
      progressive: metadata.isProgressive === true,
      frames: 1,
      // The whole file is searched (SVG is text; the input is bounded by --max-input-bytes): a filter hidden
      // after padding must still be charged.
      filters: sourceFormat === 'svg' && input.includes('filter'),
    },
    { format: output.format, ...size },
    params,
  );
  return { metadata, output, size, cost };
}

export async function render(input: Buffer, params: RenderParams, options: RenderOptions, prepared?: PreparedRender): Promise<RenderResult> {
  const deadline = options.timeoutSeconds && options.timeoutSeconds > 0 ? Date.now() + options.timeoutSeconds * 1000 : undefined;
  const { metadata, output } = prepared ?? (await prepareRender(input, params, options));
  const sourceFormat = String(metadata.format);
  if (output.format === 'json') return renderJson(input, metadata, sourceFormat);

  // An explicit `orient` replaces the EXIF orientation; otherwise EXIF is always applied (sizes are oriented).
  // Only the first frame of animated inputs is read (sharp's default). failOn 'error' still rejects
  // truncated files but tolerates the harmless warnings many camera JPEGs trigger.
  const maxInputPixels = Math.max(1, Math.floor(options.maxInputPixels));
  const autoOrient = params.orient === undefined;
  const size = autoOrient ? metadata.autoOrient : { width: metadata.width, height: metadata.height };
  const limits = options.limits ?? DEFAULT_OUTPUT_LIMITS;
  const master = { ...size, format: sourceFormat, pages: metadata.pages ?? 1, hasAlpha: metadata.hasAlpha, limitInputPixels: maxInputPixels };
  const decoded = options.decoded && (await options.decoded.masters.source(options.decoded.masterKey, input, master, params, limits));
  // Steps plan in the master's full-size coordinates even when a smaller decoded level stands in for it:
  // the level is only used when the resize is the first pixel operation, and it targets absolute sizes.
  const builder = new PipelineBuilder({
    input: decoded ? decoded.input : input,
    options: decoded ? decoded.options : { limitInputPixels: maxInputPixels, failOn: 'error', autoOrient },
    width: size.width,
    height: size.height,
    hasAlpha: decoded ? decoded.hasAlpha : metadata.hasAlpha,
    deadline,
  });
  const ctx: RenderContext = {
    params,
    builder,
    output,
    limits,
    padding: { top: 0, right: 0, bottom: 0, left: 0 },
    maxInputPixels,
    ...(options.subImages ? { subImages: options.subImages } : {}),
  };
  for (const step of STEPS) await step(ctx);

  if (output.format === 'blurhash') return renderBlurhash(builder);
  if (output.format === 'palette') return renderPalette(builder, params);
  const { data, info } = await builder.finish((image) => applyEncoder(image, output));
  return {
    // sharp hands over libvips' write buffer as it is: its allocation is rounded up far beyond the bytes of
    // a small image (up to twice them for a large one), and V8 is told only the bytes. A cache keeping it
    // would hold memory that no bound counts. The copy costs much less than the ETag hash of every output.
    body: exactCopy(data),
    contentType: contentTypeFor(output.format),
    format: reportedFormat(output.format),
    width: info.width,
    height: info.height,
  };
}

/** Header only (no pixel decoding), without sharp's own pixel limit so that we can answer 413 ourselves. */
async function readHeader(input: Buffer): Promise<Metadata> {
  try {
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw mapSharpError(error);
  }
}
