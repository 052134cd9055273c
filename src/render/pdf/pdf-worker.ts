/**
 * The PDF thread's entry point (see pdf-thread.ts): runs the pdf.js jobs it is sent, several at once if
 * need be, and answers each with its result or its error.
 */
import { parentPort } from 'node:worker_threads';
import { isPictorError } from '../../errors.ts';
import { drawPage, readPage } from './pdf-document.ts';
import type { PdfJob, PdfReply } from './pdf-thread.ts';

parentPort!.on('message', (job: PdfJob) => {
  const work = job.kind === 'read'
    ? readPage(job.input, job.page, job.maxImagePixels)
    : drawPage(job.input, job.page, job.raster, job.annotations, job.maxImagePixels);
  work.then(
    (result) => {
      const reply: PdfReply = { id: job.id, ok: true, result };
      parentPort!.postMessage(reply, result instanceof Uint8Array ? [result.buffer as ArrayBuffer] : []);
    },
    (error: unknown) => {
      const described = isPictorError(error)
        ? { code: error.code, message: error.message, pointer: error.pointer }
        : { message: error instanceof Error ? error.message : String(error) };
      parentPort!.postMessage({ id: job.id, ok: false, error: described } satisfies PdfReply);
    },
  );
});
