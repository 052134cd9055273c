/**
 * imgix's trim parameters — `trim`, `trim-color`, `trim-tol`, `trim-md`, `trim-sd`, `trim-pad` — normalised
 * into `RenderParams`. The trimming itself is in trim.ts (finding the box) and steps/geometry-steps.ts.
 */
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const TRIM_PARAMS: readonly string[] = ['trim', 'trim-color', 'trim-tol', 'trim-md', 'trim-sd', 'trim-pad'];

/** imgix defaults (manifest) for trim=auto. */
export const TRIM_MEAN_DIFFERENCE = 11;
export const TRIM_STANDARD_DEVIATION = 10;
/**
 * Tolerance of trim=color (and of colorunlessalpha without alpha) when trim-tol is not given. imgix's
 * default is 0; a little more keeps JPEG noise in a flat border from stopping the trim a pixel early.
 */
export const TRIM_TOLERANCE = 10;
/** Channel differences are 0–255, so larger tolerances and thresholds all mean the same (one cache entry). */
const MAX_DIFFERENCE = 255;

export function normalizeTrim(p: RenderParams, read: Reader): void {
  const trim = read.str('trim');
  if (trim !== 'auto' && trim !== 'color' && trim !== 'alpha' && trim !== 'colorunlessalpha') return;
  p.trim = trim;
  if (trim === 'auto') {
    const md = read.num('trim-md');
    const sd = read.num('trim-sd');
    if (md !== undefined && md !== TRIM_MEAN_DIFFERENCE) p['trim-md'] = Math.min(MAX_DIFFERENCE, md);
    if (sd !== undefined && sd !== TRIM_STANDARD_DEVIATION) p['trim-sd'] = Math.min(MAX_DIFFERENCE, sd);
  }
  // imgix: colorunlessalpha trims trim-color (within trim-tol) when the image has no alpha channel.
  if (trim === 'color' || trim === 'colorunlessalpha') {
    const color = read.color('trim-color');
    if (color) p['trim-color'] = color;
    const tol = read.num('trim-tol');
    if (tol !== undefined && tol > 0) p['trim-tol'] = Math.min(MAX_DIFFERENCE, tol);
  }
  const pad = read.num('trim-pad') ?? 0;
  if (pad !== 0) p['trim-pad'] = pad;
}
