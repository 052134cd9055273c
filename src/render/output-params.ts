/**
 * imgix's output settings (`jpg-progressive`, `chromasub`, `cs`, `dpi`, `iptc`): normalisation into
 * `RenderParams`. A setting is kept only when it differs from imgix's default and the output may be a format
 * it applies to, so equivalent URLs share one cache entry. The encoder side is in output-metadata.ts.
 *
 * `dl` and `ch` are output parameters too, but they change the response's headers and the request's sizes,
 * not the encoder: the delivery layer reads them (see params.ts `download` and `hints`).
 */
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const OUTPUT_PARAMS: readonly string[] = ['jpg-progressive', 'chromasub', 'cs', 'dpi', 'iptc'];

export type ColourSpace = NonNullable<RenderParams['cs']>;

/** imgix writes a density into JPEG and PNG files only. */
const DPI_FORMATS = new Set<string | undefined>(['pjpg', 'png', 'png8', 'png32']);

/** JFIF stores the density in 16 bits; larger values are clamped to it. */
export const MAX_DPI = 65535;

export function normalizeOutput(p: RenderParams, read: Reader): void {
  if (p.fm === 'blurhash') return; // a text hash: no encoder settings apply
  const jpeg = mayEncodeJpeg(p);
  // imgix's JPEGs are progressive unless asked otherwise; pjpg always is.
  if (jpeg && read.bool('jpg-progressive') === false) p['jpg-progressive'] = false;
  // sharp encodes 4:4:4 and 4:2:0 only: 4:2:2 is served as 4:4:4, which keeps at least the colour detail asked for.
  const chromasub = read.num('chromasub');
  if ((jpeg || p.fm === 'pjpg') && (chromasub === 444 || chromasub === 422)) p.chromasub = 444;
  const cs = read.str('cs');
  if (cs !== undefined && cs !== 'origin') p.cs = cs as ColourSpace;
  const dpi = read.num('dpi');
  if (dpi !== undefined && dpi > 0 && (jpeg || DPI_FORMATS.has(p.fm))) p.dpi = Math.min(MAX_DPI, dpi);
  // imgix passes IPTC from JPEG to JPEG only; the input format is checked when encoding.
  if (jpeg && read.str('iptc') === 'allow') p.iptc = 'allow';
}

/** Whether the output may be a baseline-or-progressive JPEG: fm=jpg, or a format chosen later (source, auto). */
function mayEncodeJpeg(p: RenderParams): boolean {
  const compress = p.auto?.includes('compress') ?? false;
  return p.fm === undefined || p.fm === 'jpg' || (p.fm === 'gif' && compress);
}
