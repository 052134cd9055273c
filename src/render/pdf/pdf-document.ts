/**
 * The work pdf.js does on a document, run in the PDF thread (pdf-thread.ts): reading the structure
 * (page count and one page's size) and drawing one page. Nothing here runs in the server process.
 */
import { isPictorError, PictorError } from '../../errors.ts';
import type { Size } from '../geometry.ts';
import { loadPdfJs, openPdf, type PdfDocument } from './pdfjs.ts';

/**
 * The most pages a PDF may have. pdf.js keeps a parsed dictionary of every page of a flat page tree (it
 * checks the last page when it opens a document), so memory and time grow with the page count.
 */
export const MAX_PDF_PAGES = 10_000;

export interface PageInfo {
  /** Pages in the document. */
  pages: number;
  /** The page at 72 dpi, rotation applied. */
  size: Size;
}

/** The page count, and the size of page `page` (1-based); a page beyond the document is a 400. */
export async function readPage(input: Uint8Array, page: number, maxImagePixels: number): Promise<PageInfo> {
  return withDocument(input, maxImagePixels, async (doc) => {
    const pages = doc.numPages;
    if (page > pages) {
      const has = pages === 1 ? 'has 1 page' : `has ${pages} pages`;
      throw new PictorError('INVALID_PARAMETER', `page must be between 1 and ${pages}: this PDF ${has}, got "${page}"`, { pointer: 'page' });
    }
    const viewport = (await doc.getPage(page)).getViewport({ scale: 1 });
    return { pages, size: { width: Math.round(viewport.width), height: Math.round(viewport.height) } };
  });
}

/** Draws page `page` at `raster` (white background, annotations when asked) into raw RGB pixels. */
export async function drawPage(input: Uint8Array, page: number, raster: Size, annotations: boolean, maxImagePixels: number): Promise<Uint8Array> {
  const lib = await loadPdfJs();
  // Loaded here, not at start: only the PDF thread draws pages.
  const { createCanvas } = await import('@napi-rs/canvas');
  return withDocument(input, maxImagePixels, async (doc) => {
    const pdfPage = await doc.getPage(page);
    const { width, height } = raster;
    const viewport = pdfPage.getViewport({ scale: width / pdfPage.getViewport({ scale: 1 }).width });
    const canvas = createCanvas(width, height);
    const context = canvas.getContext('2d');
    type RenderArgs = Parameters<typeof pdfPage.render>[0];
    await pdfPage.render({
      canvas: canvas as unknown as RenderArgs['canvas'],
      canvasContext: context as unknown as RenderArgs['canvasContext'],
      viewport,
      annotationMode: annotations ? lib.AnnotationMode.ENABLE : lib.AnnotationMode.DISABLE,
    }).promise;
    return packRgb(context.getImageData(0, 0, width, height).data);
  });
}

/** pdf.js errors while reading a page (a damaged object, a broken stream) are about the file: 422. */
async function withDocument<T>(input: Uint8Array, maxImagePixels: number, use: (doc: PdfDocument) => Promise<T>): Promise<T> {
  const doc = await openPdf(input, { maxImagePixels });
  try {
    if (doc.numPages > MAX_PDF_PAGES) {
      throw new PictorError('INPUT_TOO_LARGE', `This PDF has ${doc.numPages} pages, more than the limit of ${MAX_PDF_PAGES}`);
    }
    return await use(doc);
  } catch (error) {
    if (isPictorError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new PictorError('UNSUPPORTED_IMAGE', `The PDF could not be rendered: ${message.split('\n', 1)[0]?.slice(0, 200)}`, { cause: error });
  } finally {
    await doc.destroy();
  }
}

/** RGBA (always opaque here: the page is drawn on white) → RGB, a quarter smaller for the rest of the render. */
function packRgb(rgba: Uint8ClampedArray): Uint8Array {
  const pixels = rgba.length / 4;
  // Its own ArrayBuffer (never a pooled one): it is transferred out of the thread.
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
    rgb[o] = rgba[i]!;
    rgb[o + 1] = rgba[i + 1]!;
    rgb[o + 2] = rgba[i + 2]!;
  }
  return rgb;
}
