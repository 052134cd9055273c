/**
 * A PDF as a render source: one page, drawn by pdf.js at the size the render needs, then handed to the
 * ordinary pipeline as raw pixels, so every other parameter applies to it as to any image.
 *
 * The page's size at 72 dpi (its size in points, rotation applied) is the source size every parameter
 * works in: `w=0.5`, `rect` and the size of an unsized render are in those units. The page is drawn at
 * that size, except when the resize is the render's first pixel operation (no trim, rect or orient): then
 * it is drawn directly at the size the resize needs, so `w=2400` of a Letter page is sharp, and `w=64` of a
 * poster-sized page draws 64 px. Either way the raster is within the output limits or the input pixel limit.
 */
import type { Metadata } from 'sharp';
import { PictorError } from '../../errors.ts';
import type { PipelineSource } from '../decoded-masters.ts';
import { neededFraction } from '../decoded-masters.ts';
import type { DataResult } from '../data-outputs.ts';
import { contentTypeFor } from '../detect.ts';
import { planGeometry, type OutputLimits, type Size } from '../geometry.ts';
import type { RenderParams } from '../render-params.ts';
import { drawPdfPage, readPdfPage } from './pdf-thread.ts';

/** PDF user space units per inch: the page size in points is its size in pixels at this density. */
export const PDF_DPI = 72;

export interface PdfPlan {
  /** Pages in the document. */
  pages: number;
  /** The 1-based page rendered. */
  page: number;
  /** The page at 72 dpi, rotation applied: the source size for every other parameter. */
  size: Size;
  /** The size the page is drawn at. */
  raster: Size;
}

/**
 * Reads the document's structure (not the page's content) and plans the raster. A page beyond the
 * document is a 400; an unreadable document a 422; a raster over the input pixel limit, a document over
 * MAX_PDF_PAGES pages or one whose structure needs more than the PDF thread's heap, a 413.
 */
export async function planPdf(input: Buffer, params: RenderParams, limits: OutputLimits, maxInputPixels: number): Promise<PdfPlan> {
  const page = params.page ?? 1;
  const { pages, size } = await readPdfPage(input, page, maxInputPixels);
  if (!(size.width >= 1 && size.height >= 1)) throw new PictorError('UNSUPPORTED_IMAGE', `Page ${page} of the PDF has no area to render`);
  const raster = rasterSize(size, params, limits);
  if (raster.width * raster.height > maxInputPixels) {
    throw new PictorError(
      'INPUT_TOO_LARGE',
      `Page ${page} of the PDF is ${size.width}×${size.height} points, more than the limit of ${maxInputPixels} pixels at ${PDF_DPI} dpi; ` +
        'ask for a size (w or h) without rect, trim or orient to render it smaller',
    );
  }
  return { pages, page, size, raster };
}

/** What the pipeline needs to know of the source, in sharp's terms: an opaque 8-bit RGB image of the page's size. */
export function pdfMetadata(plan: PdfPlan): Metadata {
  const { width, height } = plan.size;
  return {
    format: 'pdf',
    width,
    height,
    autoOrient: { width, height },
    space: 'srgb',
    channels: 3,
    depth: 'uchar',
    density: PDF_DPI,
    hasAlpha: false,
    hasProfile: false,
    isProgressive: false,
    isPalette: false,
    pages: plan.pages,
  } as unknown as Metadata;
}

/** Draws the planned page (white background, annotations unless `pdf-annotation=false`) into raw RGB pixels. */
export async function rasterizePdf(input: Buffer, plan: PdfPlan, params: RenderParams, maxInputPixels: number): Promise<PipelineSource> {
  const { width, height } = plan.raster;
  const rgb = await drawPdfPage(input, plan.page, plan.raster, params['pdf-annotation'] !== false, maxInputPixels);
  return { input: rgb, options: { raw: { width, height, channels: 3 }, limitInputPixels: false }, hasAlpha: false, level: 1 };
}

/** fm=json of a PDF: imgix's keys for the page's raster at 72 dpi, plus the document's page count and page. */
export function pdfJson(input: Buffer, plan: PdfPlan): DataResult {
  const info = {
    'Content-Type': 'application/pdf',
    'Content-Length': String(input.length),
    PixelWidth: plan.size.width,
    PixelHeight: plan.size.height,
    ColorModel: 'RGB',
    Depth: 8,
    HasAlpha: false,
    Orientation: 1,
    DPIWidth: PDF_DPI,
    DPIHeight: PDF_DPI,
    PDF: { PageCount: plan.pages, Page: plan.page, PageWidth: plan.size.width, PageHeight: plan.size.height },
  };
  return { body: Buffer.from(JSON.stringify(info)), contentType: contentTypeFor('json'), format: 'json' };
}

function rasterSize(size: Size, params: RenderParams, limits: OutputLimits): Size {
  // These work in the page's own coordinates before any resize: draw it at its own size.
  if (params.trim || params.rect || params.orient !== undefined) return size;
  const needed = neededFraction(planGeometry(size, params, limits).resize, size);
  if (needed === undefined) return size;
  return { width: Math.max(1, Math.ceil(size.width * needed)), height: Math.max(1, Math.ceil(size.height * needed)) };
}
