/**
 * Output format choice (fm, auto=format/compress, source format) and the sharp encoder settings.
 * Quality is always passed explicitly: sharp's defaults (jpeg/webp 80, avif 50) are not imgix's 75.
 */
import type { Sharp } from 'sharp';
import { hasAuto, type RenderParams } from './render-params.ts';

export type ImageOutputFormat = 'jpg' | 'pjpg' | 'png' | 'png8' | 'png32' | 'webp' | 'avif' | 'gif';
/** `palette` is palette=css|json: which of the two is in the params. */
export type OutputFormat = ImageOutputFormat | 'json' | 'blurhash' | 'palette';

export interface OutputPlan {
  format: OutputFormat;
  /** Whether the encoded result can carry transparency (otherwise alpha is flattened onto bg or white). */
  alpha: boolean;
  quality: number;
  lossless: boolean;
}

// A palette keeps alpha so that transparent pixels are left out of it rather than counted as white.
const ALPHA_FORMATS = new Set<OutputFormat>(['png', 'png8', 'png32', 'webp', 'avif', 'gif', 'palette']);

/**
 * Precedence: palette → data outputs (json, blurhash) → auto=format (AVIF, then WebP, if the client accepts them)
 * → explicit fm → auto=compress (PNG8 with alpha, else JPEG; it also replaces fm=gif, per imgix's docs)
 * → fm=gif → the source's own format (svg → png, tiff → jpg/png).
 */
export function chooseOutput(params: RenderParams, sourceFormat: string, sourceHasAlpha: boolean, acceptClass: string): OutputPlan {
  const compress = hasAuto(params, 'compress');
  const format = pickFormat(params, sourceFormat, sourceHasAlpha, acceptClass, compress);
  return {
    format,
    alpha: ALPHA_FORMATS.has(format),
    quality: clampQuality(params.q ?? (compress ? 45 : 75)),
    lossless: params.lossless === true,
  };
}

function pickFormat(params: RenderParams, source: string, hasAlpha: boolean, acceptClass: string, compress: boolean): OutputFormat {
  if (params.palette !== undefined) return 'palette';
  const fm = params.fm;
  if (fm === 'json' || fm === 'blurhash') return fm;
  if (hasAuto(params, 'format')) {
    if (acceptClass === 'avif') return 'avif';
    if (acceptClass === 'webp') return 'webp';
  }
  if (fm !== undefined && fm !== 'gif') return fm;
  if (compress) return hasAlpha ? 'png8' : 'jpg';
  if (fm === 'gif') return 'gif';
  switch (source) {
    case 'jpeg': return 'jpg';
    case 'png': return 'png';
    case 'webp': return 'webp';
    case 'gif': return 'gif';
    case 'avif':
    case 'heif': return 'avif';
    case 'svg': return 'png';
    default: return hasAlpha ? 'png' : 'jpg'; // tiff and anything else browsers may not display
  }
}

/**
 * AVIF effort 1 (libaom speed 8, imgproxy's default) instead of sharp's 4. Measured at q=75, 800–1000 px,
 * on two photos, the bench's grainy photo and a logo: 1.7–2.7× faster than effort 2 and 7–15× faster than effort 4, for files
 * 2–15 % larger than effort 2 and 16–92 % larger than effort 4, PSNR 0.1–1.3 dB below effort 2. Effort 0
 * was faster still but up to 3× larger on flat artwork; effort 2 gained little over 1 for its cost.
 * libvips' timeout cannot interrupt the AV1 encoder itself, so a slow effort would also escape timeoutSeconds.
 */
const AVIF_EFFORT = 1;

/** Sets the encoder on the final pipeline. Metadata is stripped (sharp's default): imgix's cs=strip behaviour. */
export function applyEncoder(image: Sharp, plan: OutputPlan): Sharp {
  const { quality, lossless } = plan;
  switch (plan.format) {
    case 'jpg': return image.jpeg({ quality, progressive: false });
    case 'pjpg': return image.jpeg({ quality, progressive: true });
    case 'png': return image.png();
    // imgix's PNG8: a 256-colour palette (libimagequant), keeping 1-bit-ish alpha.
    case 'png8': return image.png({ palette: true, colours: 256 });
    case 'png32': return image.ensureAlpha().png();
    case 'webp': return image.webp({ quality, lossless });
    case 'avif': return image.avif({ quality, lossless, effort: AVIF_EFFORT });
    case 'gif': return image.gif();
    default: throw new Error(`applyEncoder: ${plan.format} is not an image format`);
  }
}

/** The container name reported to callers (png8/png32 are PNGs, pjpg is a JPEG). */
export function reportedFormat(format: OutputFormat): string {
  if (format === 'png8' || format === 'png32') return 'png';
  if (format === 'pjpg') return 'jpg';
  return format;
}

function clampQuality(q: number): number {
  return Math.min(100, Math.max(1, Math.round(q)));
}
