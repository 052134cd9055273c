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
  /** JPEG only: imgix's JPEGs are progressive unless `jpg-progressive=false`; `pjpg` always is. */
  progressive: boolean;
  /** JPEG only (`chromasub`). */
  chromaSubsampling: '4:4:4' | '4:2:0';
  /** PNG8 and GIF only: libimagequant's effort (see paletteEffort); set once the output's size is known. */
  paletteEffort?: number;
}

/**
 * Palette outputs (PNG8, GIF) up to this many pixels, frames counted, get libimagequant's full effort; larger
 * ones a low effort. The full effort's palette search grows with the number of distinct colours, not only the
 * pixels, so on a grainy image it takes seconds even at a modest size; the low effort costs a little file size
 * on photos and stays proportional to the pixels (cost.ts charges it by them).
 */
export const FULL_PALETTE_EFFORT_PIXELS = 1_000_000;

/** libimagequant's effort for a palette output of `pixels` (all frames together). */
export function paletteEffort(pixels: number): number {
  return pixels <= FULL_PALETTE_EFFORT_PIXELS ? 7 : 3;
}

// A palette keeps alpha so that transparent pixels are left out of it rather than counted as white.
const ALPHA_FORMATS = new Set<OutputFormat>(['png', 'png8', 'png32', 'webp', 'avif', 'gif', 'palette']);

/**
 * Precedence: palette → data outputs (json, blurhash) → auto=format (AVIF, then WebP, if the client accepts them)
 * → explicit fm → auto=compress (PNG8 with alpha, else JPEG; it also replaces fm=gif, per imgix's docs)
 * → fm=gif → the source's own format (svg → png, tiff → jpg/png).
 */
export function chooseOutput(params: RenderParams, sourceFormat: string, sourceHasAlpha: boolean, acceptClass: string, animated = false): OutputPlan {
  // An animation: auto=format prefers WebP (sharp writes no AVIF sequence), auto=compress keeps the format
  // (imgix: it overrides fm "for non-animated images").
  const compress = hasAuto(params, 'compress');
  const format = pickFormat(params, sourceFormat, sourceHasAlpha, animated && acceptClass === 'avif' ? 'webp' : acceptClass, compress && !animated);
  return {
    format,
    alpha: ALPHA_FORMATS.has(format),
    quality: clampQuality(params.q ?? (compress ? 45 : 75)),
    lossless: params.lossless === true,
    progressive: format === 'pjpg' || params['jpg-progressive'] !== false,
    chromaSubsampling: params.chromasub === 444 ? '4:4:4' : '4:2:0',
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
    case 'pdf': return 'png'; // text and line art: sharp edges, small files
    default: return hasAlpha ? 'png' : 'jpg'; // tiff and anything else browsers may not display
  }
}

/**
 * AVIF effort 1 (libaom speed 8, imgproxy's default) instead of sharp's 4: several times faster than efforts 2
 * and 4, for files somewhat larger and a quality barely below effort 2's; effort 0 was faster still but much
 * larger on flat artwork (the figures: BENCHMARKS.md, *Cold renders*).
 * libvips' timeout cannot interrupt the AV1 encoder itself, so a slow effort would also escape timeoutSeconds.
 */
const AVIF_EFFORT = 1;

/** Frame delays (ms, one per frame) and loop count (0 = forever) of an animated GIF or WebP output. */
export interface AnimationTiming {
  delay: number[];
  loop: number;
}

/** Sets the encoder on the final pipeline. Metadata is stripped (sharp's default); output-metadata.ts adds what is asked for. */
export function applyEncoder(image: Sharp, plan: OutputPlan, animation?: AnimationTiming): Sharp {
  const { quality, lossless, progressive, chromaSubsampling } = plan;
  switch (plan.format) {
    case 'jpg':
    case 'pjpg': return image.jpeg({ quality, progressive, chromaSubsampling });
    case 'png': return image.png();
    // imgix's PNG8: a 256-colour palette (libimagequant), keeping 1-bit-ish alpha.
    case 'png8': return image.png({ palette: true, colours: 256, effort: plan.paletteEffort ?? 7 });
    case 'png32': return image.ensureAlpha().png();
    case 'webp': return image.webp({ quality, lossless, ...animation });
    case 'avif': return image.avif({ quality, lossless, effort: AVIF_EFFORT });
    // An animation's frames each get their own palette: reusing the input's (the first frame's) would tint the rest.
    case 'gif': return image.gif({ effort: plan.paletteEffort ?? 7, ...(animation ? { ...animation, reuse: false } : {}) });
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
