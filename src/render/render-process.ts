/**
 * The entry point of a render process (see isolated-renderer.ts): renders one job at a time, sent over the
 * IPC channel, and answers with the result or the error, and its resident memory once the job is done (the
 * parent retires a process that kept much of it). It holds no state between jobs, and exits when its parent
 * goes away. Its one argument is the number of libvips threads per render.
 */
import { isPictorError } from '../errors.ts';
import { planPdf } from './pdf/pdf-source.ts';
import { DEFAULT_OUTPUT_LIMITS, render } from './pipeline.ts';
import { configureSharp } from './runtime.ts';
import type { RenderJob, RenderReply } from './isolated-renderer.ts';

/** libvips threads per render: the parent's --render-threads, passed as the only argument. */
configureSharp(Number(process.argv[2] ?? 1));

process.on('message', (job: RenderJob) => {
  const subImages: { mark?: Buffer; blend?: Buffer; mask?: Buffer } = {};
  for (const layer of ['mark', 'blend', 'mask'] as const) {
    const bytes = job.options.subImages?.[layer];
    if (bytes) subImages[layer] = asBuffer(bytes);
  }
  const input = asBuffer(job.input);
  const work = job.planPdf
    ? planPdf(input, job.params, job.options.limits ?? DEFAULT_OUTPUT_LIMITS, job.options.maxInputPixels)
    : render(input, job.params, { ...job.options, subImages });
  work.then(
    (result) => reply({ id: job.id, ok: true, result, rss: process.memoryUsage.rss() }),
    (error: unknown) => reply({ id: job.id, ok: false, error: describe(error), rss: process.memoryUsage.rss() }),
  );
});
process.on('disconnect', () => process.exit(0));
reply({ ready: true });

function reply(message: RenderReply): void {
  process.send?.(message);
}

/** Structured clone delivers a Buffer as a plain Uint8Array. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function describe(error: unknown): Extract<RenderReply, { ok: false }>['error'] {
  if (isPictorError(error)) return { code: error.code, message: error.message, pointer: error.pointer };
  return { message: error instanceof Error ? error.message : String(error) };
}
