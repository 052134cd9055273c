/**
 * render(): bytes + normalised params → encoded output. A list of small steps over one context, in
 * imgix's order (orient → trim → rect → fit → flip/rot → adjust → tone → stylize → duotone/halftone → mask
 * → pad → border → blend → mark → txt → transparency grid → bg → cap → colorquant → encode);
 * the PipelineBuilder packs them into as few sharp pipelines as their order allows.
 */
import sharp, { type Metadata } from 'sharp';
import { exactCopy } from '../cache/footprint.ts';
import { PictorError } from '../errors.ts';
import { checkAnimationSize, isAnimatedOutput, selectFrames, type FrameSelection } from './animation/frames.ts';
import { animationMode, renderAnimation, type AnimationMode } from './animation/render.ts';
import { PipelineBuilder } from './builder.ts';
import { renderBlurhash, renderJson, renderPalette } from './data-outputs.ts';
import type { DecodedMasters } from './decoded-masters.ts';
import { contentTypeFor, isPdf } from './detect.ts';
import { estimateRenderCost, type RenderCost } from './cost.ts';
import { sampleBytesOf } from './decode-cost.ts';
import { readLayers } from './layer-cost.ts';
import { applyEncoder, chooseOutput, paletteEffort, reportedFormat, type OutputPlan } from './encode.ts';
import { planGeometry, resolveRect, type OutputLimits, type Size } from './geometry.ts';
import { applyOutputMetadata } from './output-metadata.ts';
import { pdfJson, pdfMetadata, planPdf, rasterizePdf, type PdfPlan } from './pdf/pdf-source.ts';
import type { RenderParams } from './render-params.ts';
import { mapSharpError } from './sharp-errors.ts';
import { adjustStep } from './steps/adjust.ts';
import { blendStep } from './steps/blend.ts';
import { coverFacesStep, detectFacesStep } from './steps/faces.ts';
import { withFaceData } from './faces/face-data.ts';
import { backgroundStep, capStep, padStep, transparencyGridStep } from './steps/canvas.ts';
import { borderStep, maskStep } from './steps/canvas-shapes.ts';
import type { RenderContext, RenderStep } from './steps/context.ts';
import { orientStep, rectStep, resizeStep, trimStep } from './steps/geometry-steps.ts';
import { markStep } from './steps/mark.ts';
import { flipStep, rotateStep } from './steps/rotate.ts';
import { stylizeStep } from './steps/stylize.ts';
import { textStep } from './steps/text.ts';
import { colorquantStep, toneAdjustStep, toneStylizeStep } from './steps/tone.ts';

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
   * skipped; an undecodable one fails with UNSUPPORTED_IMAGE (pointer `mark` / `blend` / `mask`).
   */
  subImages?: { mark?: Buffer; blend?: Buffer; mask?: Buffer };
  /**
   * Reads a PDF's structure and plans its raster (pdf/pdf-source.ts `planPdf` by default). The server
   * passes one that runs in a render process: pdf.js parses in the calling thread, and a damaged file can
   * keep it busy for long.
   */
  planPdf?: typeof planPdf;
  /** A PDF's plan already made (by the server, before it sent the render here): the document is not read twice. */
  pdfPlan?: PdfPlan;
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
  /** The frames to render: one for a still output (the page to decode), several for an animation. */
  frames: FrameSelection;
  /** Set when the output is animated: how its frames are rendered (animation/render.ts). */
  animation?: AnimationMode;
  /** A PDF source: the page and the size it is drawn at. */
  pdf?: PdfPlan;
}

/** imgix's output cap: 8192 px a side (and so at most 8192² pixels). */
export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxSide: 8192, maxPixels: 8192 * 8192 };

const STEPS: readonly RenderStep[] = [
  orientStep,
  trimStep,
  rectStep,
  detectFacesStep,
  resizeStep,
  coverFacesStep,
  flipStep,
  rotateStep,
  adjustStep,
  toneAdjustStep,
  stylizeStep,
  toneStylizeStep,
  maskStep,
  padStep,
  borderStep,
  blendStep,
  markStep,
  textStep,
  transparencyGridStep,
  backgroundStep,
  capStep,
  colorquantStep,
];

/**
 * Reads the input's header (no pixels) and plans the output: refuses inputs over the pixel limit, and
 * estimates the render's memory so that it can be admitted (or refused) before any decoding.
 */
export async function prepareRender(
  input: Buffer,
  params: RenderParams,
  options: Pick<RenderOptions, 'acceptClass' | 'maxInputPixels' | 'limits' | 'planPdf' | 'pdfPlan' | 'subImages'>,
): Promise<PreparedRender> {
  const maxInputPixels = Math.max(1, Math.floor(options.maxInputPixels));
  const pdf = !isPdf(input) ? undefined : options.pdfPlan ?? await (options.planPdf ?? planPdf)(input, params, options.limits ?? DEFAULT_OUTPUT_LIMITS, maxInputPixels);
  const metadata = pdf ? pdfMetadata(pdf) : await readHeader(input);
  if (!pdf && metadata.width * metadata.height > maxInputPixels) {
    throw new PictorError(
      'INPUT_TOO_LARGE',
      `The source image is ${metadata.width}×${metadata.height} pixels, more than the limit of ${maxInputPixels}`,
    );
  }
  const sourceFormat = String(metadata.format);
  // fm=json reads the header only: no frame is rendered, however many there are. A PDF's pages are not frames.
  const frames = params.fm === 'json' || pdf ? selectFrames({}, params) : selectFrames(metadata, params);
  const chosen = chooseOutput(params, sourceFormat, metadata.hasAlpha, options.acceptClass, frames.frames.length > 1);
  const animated = isAnimatedOutput(frames, chosen.format);
  const source = params.orient === undefined && !animated ? metadata.autoOrient : { width: metadata.width, height: metadata.height };
  // A rect outside the image is refused before admission; after a trim, only the render knows the size.
  if (params.rect && !params.trim) resolveRect(params.rect, source);
  const size = chosen.format === 'json' ? { width: 0, height: 0 } : planGeometry(source, params, options.limits ?? DEFAULT_OUTPUT_LIMITS).output;
  if (animated) checkAnimationSize(frames.frames.length, size.width, size.height);
  const output = { ...chosen, paletteEffort: paletteEffort(size.width * size.height * (animated ? frames.frames.length : 1)) };
  const animation = animated ? animationMode(params, frames) : undefined;
  const layers = output.format === 'json' ? {} : await readLayers(params, options.subImages, size, maxInputPixels);
  const encodedBytes = input.length + Object.values(options.subImages ?? {}).reduce((sum, buffer) => sum + buffer.length, 0);
  const cost = estimateRenderCost(
    {
      format: sourceFormat,
      // A PDF page is drawn at the planned raster size, whatever its size in points.
      width: pdf ? pdf.raster.width : metadata.width,
      height: pdf ? pdf.raster.height : metadata.height,
      progressive: metadata.isProgressive === true,
      frames: animated ? frames.count : 1,
      // The whole file is searched (SVG is text; the input is bounded by --max-input-bytes): a filter hidden
      // after padding must still be charged.
      filters: sourceFormat === 'svg' && input.includes('filter'),
      channels: metadata.channels,
      sampleBytes: sampleBytesOf(metadata.depth),
      encodedBytes,
      ...(pdf ? { pages: pdf.pages } : { bytesPerPixel: input.length / Math.max(1, metadata.width * metadata.height * (metadata.pages ?? 1)) }),
    },
    { format: output.format, ...size, frames: animated ? frames.frames.length : 1 },
    params,
    { ...(animation ? { animation } : {}), layers },
  );
  return { metadata, output, size, cost, frames, ...(animation ? { animation } : {}), ...(pdf ? { pdf } : {}) };
}

export async function render(input: Buffer, params: RenderParams, options: RenderOptions, prepared?: PreparedRender): Promise<RenderResult> {
  const deadline = options.timeoutSeconds && options.timeoutSeconds > 0 ? Date.now() + options.timeoutSeconds * 1000 : undefined;
  const { metadata, output, frames, animation, pdf } = prepared ?? (await prepareRender(input, params, options));
  const sourceFormat = String(metadata.format);
  if (output.format === 'json') return pdf ? pdfJson(input, pdf) : withFaceData(renderJson(input, metadata, sourceFormat), input, metadata, params, options.maxInputPixels, deadline);

  const maxInputPixels = Math.max(1, Math.floor(options.maxInputPixels));
  const limits = options.limits ?? DEFAULT_OUTPUT_LIMITS;
  const job: StepsJob = { params, output, limits, maxInputPixels, subImages: options.subImages };
  if (animation) {
    const { data, info } = await renderAnimation({
      input,
      selection: frames,
      width: metadata.width,
      height: metadata.height,
      hasAlpha: metadata.hasAlpha,
      maxInputPixels,
      deadline,
      runSteps: (builder) => runSteps(builder, job),
      encode: (image) => applyEncoder(image, output, { delay: frames.delays, loop: frames.loop }),
    }, animation);
    return { body: exactCopy(data), contentType: contentTypeFor(output.format), format: reportedFormat(output.format), width: info.width, height: info.height };
  }

  // An explicit `orient` replaces the EXIF orientation; otherwise EXIF is always applied (sizes are oriented).
  // A still output of an animated input reads the one frame it shows. failOn 'error' still rejects
  // truncated files but tolerates the harmless warnings many camera JPEGs trigger.
  const autoOrient = params.orient === undefined;
  const page = (metadata.pages ?? 1) > 1 ? { page: frames.frames[0]! } : {};
  const size = autoOrient ? metadata.autoOrient : { width: metadata.width, height: metadata.height };
  const master = { ...size, format: sourceFormat, pages: metadata.pages ?? 1, hasAlpha: metadata.hasAlpha, limitInputPixels: maxInputPixels };
  const decoded = pdf ? await rasterizePdf(input, pdf, params, maxInputPixels) : options.decoded && (await options.decoded.masters.source(options.decoded.masterKey, input, master, params, limits));
  // Steps plan in the master's full-size coordinates even when a smaller decoded level stands in for it:
  // the level is only used when the resize is the first pixel operation, and it targets absolute sizes.
  const builder = new PipelineBuilder({
    input: decoded ? decoded.input : input,
    options: decoded ? decoded.options : { limitInputPixels: maxInputPixels, failOn: 'error', autoOrient, ...page },
    width: size.width,
    height: size.height,
    hasAlpha: decoded ? decoded.hasAlpha : metadata.hasAlpha,
    deadline,
  });
  await runSteps(builder, job);

  if (output.format === 'blurhash') return renderBlurhash(builder);
  if (output.format === 'palette') return renderPalette(builder, params);
  const { data, info } = await builder.finish((image) => applyOutputMetadata(applyEncoder(image, output), output.format, params, metadata));
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

interface StepsJob {
  params: RenderParams;
  output: OutputPlan;
  limits: OutputLimits;
  maxInputPixels: number;
  subImages: RenderOptions['subImages'];
}

/** Runs every step, in order, over one pipeline (a whole image, or one frame of an animation). */
async function runSteps(builder: PipelineBuilder, job: StepsJob): Promise<void> {
  const ctx: RenderContext = {
    params: job.params,
    builder,
    output: job.output,
    limits: job.limits,
    padding: { top: 0, right: 0, bottom: 0, left: 0 },
    border: { top: 0, right: 0, bottom: 0, left: 0 },
    maxInputPixels: job.maxInputPixels,
    ...(job.subImages ? { subImages: job.subImages } : {}),
  };
  for (const step of STEPS) await step(ctx);
}

/** Header only (no pixel decoding), without sharp's own pixel limit so that we can answer 413 ourselves. */
async function readHeader(input: Buffer): Promise<Metadata> {
  try {
    return await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw mapSharpError(error);
  }
}
