/**
 * imgix's PDF parameters: `page` (1-based, default 1) and `pdf-annotation` (default true). Both only
 * matter for a PDF source; the page's existence is checked when the document is read (pdf/pdf-source.ts).
 * `page` below 1 is read as 1, like every value under a suggested minimum (values.ts).
 */
import { isPdf } from './detect.ts';
import type { Reader } from './normalize.ts';
import type { RenderParams } from './render-params.ts';

export const PDF_PARAMS: readonly string[] = ['page', 'pdf-annotation'];

/**
 * Called last, once every other family has normalised: imgix renders a PDF as soon as the URL has any
 * parameter (a URL without one serves the file itself), so `page=1` alone is kept as the one sign that
 * an image is wanted; next to other parameters the default is dropped, as usual.
 */
export function normalizePdf(p: RenderParams, read: Reader): void {
  const page = read.num('page');
  const annotations = read.bool('pdf-annotation');
  if (page !== undefined && page > 1) p.page = page;
  if (annotations === false) p['pdf-annotation'] = false;
  if ((page !== undefined || annotations !== undefined) && Object.keys(p).length === 0) p.page = 1;
}

/**
 * imgix serves a PDF itself unless the URL has a parameter; with one, it renders a page. (Raster images
 * and SVG are always rendered: they are image formats in their own right.)
 */
export function rendersPdf(bytes: Buffer, params: RenderParams): boolean {
  return Object.keys(params).length > 0 && isPdf(bytes);
}
