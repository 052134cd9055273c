/**
 * pdf.js runs in a thread of its own with a heap limit, so that whatever a document makes it build (the
 * cross-reference table, a dictionary for every page of a flat page tree, a page's operator list) stays
 * within PDF_HEAP_MB: a document that needs more is refused with 413 instead of taking the render
 * process's memory. The thread starts on first use and is kept for the next document (pdf.js loads once);
 * it keeps the process alive only while it has work.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PictorError, type ErrorCode } from '../../errors.ts';
import type { Size } from '../geometry.ts';
import type { PageInfo } from './pdf-document.ts';

/** The old generation of pdf.js's heap (megabytes); the young generation adds a few more. */
export const PDF_HEAP_MB = 96;
const PDF_YOUNG_GENERATION_MB = 8;

export type PdfJob =
  | { id: number; kind: 'read'; input: Uint8Array; page: number; maxImagePixels: number }
  | { id: number; kind: 'draw'; input: Uint8Array; page: number; raster: Size; annotations: boolean; maxImagePixels: number };

export type PdfReply =
  | { id: number; ok: true; result: PageInfo | Uint8Array }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; pointer?: string | undefined } };

type Job = PdfJob extends infer J ? (J extends PdfJob ? Omit<J, 'id'> : never) : never;

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (result: PageInfo | Uint8Array) => void; reject: (error: Error) => void }>;
}

let thread: Thread | undefined;
let nextId = 1;

/** The page count and the size of page `page` (1-based). */
export async function readPdfPage(input: Buffer, page: number, maxImagePixels: number): Promise<PageInfo> {
  return (await run({ kind: 'read', input, page, maxImagePixels })) as PageInfo;
}

/** Page `page` drawn at `raster`, as raw RGB. */
export async function drawPdfPage(input: Buffer, page: number, raster: Size, annotations: boolean, maxImagePixels: number): Promise<Buffer> {
  const rgb = (await run({ kind: 'draw', input, page, raster, annotations, maxImagePixels })) as Uint8Array;
  return Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

function run(job: Job): Promise<PageInfo | Uint8Array> {
  const current = thread ?? start();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    current.pending.set(id, { resolve, reject });
    current.worker.ref();
    // The input is copied into the thread, which hands its copy to pdf.js.
    current.worker.postMessage({ ...job, id });
  });
}

function start(): Thread {
  const worker = startWorker();
  const state: Thread = { worker, pending: new Map() };
  worker.on('message', (reply: PdfReply) => {
    const waiting = state.pending.get(reply.id);
    if (!waiting) return;
    state.pending.delete(reply.id);
    if (state.pending.size === 0) worker.unref();
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(toError(reply.error));
  });
  const fail = (error: Error): void => {
    if (thread === state) thread = undefined;
    for (const waiting of state.pending.values()) waiting.reject(error);
    state.pending.clear();
  };
  worker.on('error', (error: Error & { code?: string }) => {
    fail(error.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? new PictorError('INPUT_TOO_LARGE', `Reading this PDF needs more than the ${PDF_HEAP_MB} MB of memory a document may take`, { cause: error })
      : new PictorError('UNSUPPORTED_IMAGE', `The PDF could not be rendered: ${error.message}`, { cause: error }));
  });
  worker.on('exit', () => fail(new PictorError('UNSUPPORTED_IMAGE', 'The PDF could not be rendered: its reader stopped')));
  worker.unref();
  thread = state;
  return state;
}

function startWorker(): Worker {
  const options = {
    resourceLimits: { maxOldGenerationSizeMb: PDF_HEAP_MB, maxYoungGenerationSizeMb: PDF_YOUNG_GENERATION_MB },
    stdout: false,
    stderr: false,
  };
  // The thread's module, next to this one: `.js` in the build; `.ts` from the sources, loaded through tsx
  // (a thread does not take the loader from the command line). pdf.js is loaded before tsx is: through
  // tsx its modules alone would take most of the heap limit.
  const here = fileURLToPath(import.meta.url);
  const entry = pathToFileURL(path.join(path.dirname(here), `pdf-worker${path.extname(here)}`));
  if (path.extname(here) !== '.ts') return new Worker(entry, options);
  const url = (specifier: string) => JSON.stringify(import.meta.resolve(specifier));
  const preload = `Promise.all([import(${url('pdfjs-dist/legacy/build/pdf.mjs')}), import(${url('pdfjs-dist/legacy/build/pdf.worker.mjs')})])`;
  const bootstrap = `${preload}.then(() => import(${url('tsx/esm/api')})).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function toError(error: Extract<PdfReply, { ok: false }>['error']): Error {
  if (error.code !== undefined) return new PictorError(error.code, error.message, error.pointer === undefined ? {} : { pointer: error.pointer });
  return new Error(`PDF thread: ${error.message}`);
}
