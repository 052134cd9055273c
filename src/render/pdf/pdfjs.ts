/**
 * pdf.js (pdfjs-dist, Apache-2.0) drawing on @napi-rs/canvas (MIT): the PDF reader. Both install from npm
 * alone with prebuilt binaries and need no system package; the prebuilt sharp has no PDF loader, and the
 * fast alternative (mupdf) is AGPL. pdfjs-dist is pinned to the last release that supports Node 20.
 *
 * In Node pdf.js runs its "worker" in the calling thread, so parsing and drawing block it, and its parsed
 * structures grow with the document: it runs only in the PDF thread (pdf-thread.ts) of a render process,
 * where a heap limit bounds what any document can take and the render deadline kills the work.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PictorError } from '../../errors.ts';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
export type PdfDocument = Awaited<ReturnType<PdfJs['getDocument']>['promise']>;

/** Loaded on first use: most processes never see a PDF, and the module is large. */
let pdfjs: Promise<PdfJs> | undefined;

export function loadPdfJs(): Promise<PdfJs> {
  pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjs;
}

/** The package's own font, CMap and WASM data (file paths ending in '/'): nothing is fetched. */
const PACKAGE_DIR = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const RESOURCES = {
  standardFontDataUrl: `${PACKAGE_DIR}/standard_fonts/`,
  cMapUrl: `${PACKAGE_DIR}/cmaps/`,
  cMapPacked: true,
  wasmUrl: `${PACKAGE_DIR}/wasm/`,
};

export interface OpenOptions {
  /** Embedded images with more pixels are not drawn (pdf.js decodes them whole, whatever the output size). */
  maxImagePixels: number;
}

/**
 * Opens a document from `input`, which pdf.js takes ownership of: the PDF thread's own copy, a plain
 * Uint8Array (pdf.js refuses a Buffer, which is then copied). Unreadable, damaged beyond repair or
 * password-protected documents give UNSUPPORTED_IMAGE (422).
 */
export async function openPdf(input: Uint8Array, options: OpenOptions): Promise<PdfDocument> {
  const lib = await loadPdfJs();
  const task = lib.getDocument({
    data: Buffer.isBuffer(input) ? new Uint8Array(input) : input,
    ...RESOURCES,
    isEvalSupported: false,
    maxImageSize: Math.max(1, Math.floor(options.maxImagePixels)),
    verbosity: lib.VerbosityLevel.ERRORS,
  });
  try {
    return await task.promise;
  } catch (error) {
    await task.destroy().catch(() => undefined);
    throw describeOpenError(error);
  }
}

function describeOpenError(error: unknown): PictorError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') {
    return new PictorError('UNSUPPORTED_IMAGE', 'The PDF is password-protected and cannot be rendered', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PictorError('UNSUPPORTED_IMAGE', `The PDF could not be read: ${message.split('\n', 1)[0]?.slice(0, 200)}`, { cause: error });
}
