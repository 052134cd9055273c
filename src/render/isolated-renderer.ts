/**
 * Heavy renders run in separate render processes, so that the render deadline really stops them.
 *
 * Within the server process a deadline can only ask libvips to stop between tiles, and some work cannot be
 * interrupted at all: the AVIF encoder, whole-image decoders (progressive JPEG, AVIF), the SVG rasteriser.
 * A render process is killed at the deadline instead, which ends the work and returns all of its memory at
 * once. Renders whose estimated cost is small stay in the server process (cost.ts), where they are cheaper.
 *
 * Processes are started on demand, one job at a time each (the admission bounds how many run), kept for
 * a while for the next heavy render, and replaced after a number of renders so that allocator growth
 * never accumulates. A process that is left holding much memory after a job (the raw pixels of a large
 * render wait for a garbage collection that an idle process never runs, and the allocator keeps what it
 * freed) exits at once instead of idling with it: the next heavy render starts a fresh one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PictorError, type ErrorCode } from '../errors.ts';
import type { OutputLimits } from './geometry.ts';
import type { PdfPlan } from './pdf/pdf-source.ts';
import type { RenderOptions, RenderResult } from './pipeline.ts';
import type { RenderParams } from './render-params.ts';

/** What a render process receives: everything `render()` needs, and nothing that cannot cross a process. */
export interface RenderJob {
  id: number;
  input: Uint8Array;
  params: RenderParams;
  options: Pick<RenderOptions, 'acceptClass' | 'maxInputPixels' | 'limits' | 'timeoutSeconds' | 'subImages' | 'pdfPlan'>;
  /** Only read the PDF's structure and plan its raster (answers a PdfPlan instead of a RenderResult). */
  planPdf?: true;
}

/** A job's answer carries the process's resident memory (bytes) once the job is done. */
export type RenderReply =
  | { ready: true }
  | { id: number; ok: true; result: RenderResult | PdfPlan; rss: number }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string; pointer?: string | undefined }; rss: number };

export interface IsolatedRendererOptions {
  /** libvips threads per render. */
  threads: number;
  /** An idle process exits after this long. */
  idleMs?: number;
  /** A process is replaced after this many renders. */
  rendersPerProcess?: number;
  /** A process whose resident memory is above this after a job exits instead of idling. */
  retireAboveBytes?: number;
  /** Told when a render process ends unexpectedly (it crashed or was killed by the system). */
  onCrash?: (reason: string) => void;
}

const DEFAULT_IDLE_MS = 30_000;
const DEFAULT_RENDERS_PER_PROCESS = 100;
/** About twice what a fresh render process holds: more is what a large render left behind. */
export const DEFAULT_RETIRE_ABOVE_BYTES = 192 * 1024 * 1024;
/** How long a render process may take to start. */
const START_TIMEOUT_MS = 20_000;

interface RenderProcess {
  child: ChildProcess;
  exited: Promise<void>;
  renders: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** Resident memory reported with the last answer. */
  rss: number;
}

export class IsolatedRenderer {
  private readonly idle: RenderProcess[] = [];
  private readonly all = new Set<RenderProcess>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: IsolatedRendererOptions) {}

  /** Renders in a render process; past `timeoutSeconds` the process is killed and RENDER_TIMEOUT thrown. */
  async render(input: Buffer, params: RenderParams, options: RenderJob['options']): Promise<RenderResult> {
    const result = (await this.run({ id: this.nextId++, input, params, options })) as RenderResult;
    result.body = Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength);
    return result;
  }

  /** Plans a PDF's raster in a render process (pdf.js would block this thread on a damaged file), under the same deadline. */
  async planPdf(input: Buffer, params: RenderParams, limits: OutputLimits, maxInputPixels: number, timeoutSeconds: number): Promise<PdfPlan> {
    const options = { acceptClass: '', maxInputPixels, limits, timeoutSeconds };
    return (await this.run({ id: this.nextId++, input, params, options, planPdf: true })) as PdfPlan;
  }

  private async run(job: RenderJob): Promise<RenderResult | PdfPlan> {
    if (this.closed) throw new PictorError('SHUTTING_DOWN', 'Pictor is stopping.');
    const proc = this.idle.pop() ?? (await this.start());
    clearTimeout(proc.idleTimer);
    try {
      const result = await this.exchange(proc, job, (job.options.timeoutSeconds ?? 0) * 1000);
      this.release(proc);
      return result;
    } catch (error) {
      if (proc.child.exitCode === null && proc.child.signalCode === null && isPictorError(error) && error.code !== 'RENDER_TIMEOUT') this.release(proc);
      throw error;
    }
  }

  /** Ends every render process (at shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    for (const proc of this.all) proc.child.kill('SIGKILL');
    await Promise.all([...this.all].map((proc) => proc.exited));
  }

  /** Render processes alive now. */
  get size(): number {
    return this.all.size;
  }

  private exchange(proc: RenderProcess, job: RenderJob, timeoutMs: number): Promise<RenderResult | PdfPlan> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.child.off('message', onMessage);
        proc.child.off('exit', onExit);
        outcome();
      };
      const onMessage = (reply: RenderReply): void => {
        if (!('id' in reply) || reply.id !== job.id) return;
        proc.rss = reply.rss;
        finish(() => (reply.ok ? resolve(reply.result) : reject(toError(reply.error))));
      };
      const onExit = (code: number | null, signal: string | null): void => {
        const reason = signal ?? `exit code ${code}`;
        this.options.onCrash?.(reason);
        finish(() => reject(new PictorError('UNSUPPORTED_IMAGE', `The image could not be rendered: the render process ended (${reason}).`)));
      };
      // The memory of a render that overran is only released once its process has gone, so the caller
      // (and the admission holding its memory) waits for the exit, which follows SIGKILL at once.
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              proc.child.off('exit', onExit);
              proc.child.kill('SIGKILL');
              void proc.exited.then(() => finish(() => reject(new PictorError('RENDER_TIMEOUT', 'Rendering took too long'))));
            }, timeoutMs)
          : undefined;
      proc.child.on('message', onMessage);
      proc.child.on('exit', onExit);
      proc.child.send(job);
    });
  }

  private release(proc: RenderProcess): void {
    proc.renders++;
    const worn = proc.renders >= (this.options.rendersPerProcess ?? DEFAULT_RENDERS_PER_PROCESS);
    if (this.closed || worn || proc.rss > (this.options.retireAboveBytes ?? DEFAULT_RETIRE_ABOVE_BYTES)) {
      proc.child.kill();
      return;
    }
    proc.idleTimer = setTimeout(() => {
      const at = this.idle.indexOf(proc);
      if (at !== -1) this.idle.splice(at, 1);
      proc.child.kill();
    }, this.options.idleMs ?? DEFAULT_IDLE_MS);
    proc.idleTimer.unref();
    this.idle.push(proc);
  }

  private async start(): Promise<RenderProcess> {
    const { file, execArgv } = entryPoint();
    // The thread count travels as the process's argument: a render process reads no settings of its own.
    const child = fork(file, [String(this.options.threads)], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const proc: RenderProcess = { child, exited, renders: 0, idleTimer: undefined, rss: 0 };
    this.all.add(proc);
    void exited.then(() => {
      this.all.delete(proc);
      clearTimeout(proc.idleTimer);
      const at = this.idle.indexOf(proc);
      if (at !== -1) this.idle.splice(at, 1);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('the render process did not start in time')), START_TIMEOUT_MS);
      const onMessage = (reply: RenderReply): void => {
        if (!('ready' in reply)) return;
        cleanup();
        resolve();
      };
      const fail = (error: Error): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(new PictorError('OVERLOADED', `A render process could not be started (${error.message}).`, { headers: { 'retry-after': '5' }, cause: error }));
      };
      const onExit = (): void => fail(new Error('it exited at start'));
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', fail);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.on('error', fail);
    });
    return proc;
  }
}

/**
 * The render process's module, next to this one: `.js` when running the build, `.ts` from the sources
 * (then loaded through tsx, resolved from here so that the working directory does not matter).
 */
function entryPoint(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const extension = path.extname(here);
  const file = path.join(path.dirname(here), `render-process${extension}`);
  return { file, execArgv: renderProcessOptions(process.execArgv, extension === '.ts') };
}

/**
 * Node's options for a render process: the server's young-generation size when it runs with one (set by
 * bin/allocator.js), and, from the sources, tsx. Other options of the server (an inspector's) are not passed on.
 */
export function renderProcessOptions(serverOptions: readonly string[], fromSources: boolean): string[] {
  const heap = serverOptions.filter((option) => /^--max[-_]semi[-_]space[-_]size/.test(option));
  return fromSources ? [...heap, '--import', import.meta.resolve('tsx')] : heap;
}

function toError(error: Extract<RenderReply, { ok: false }>['error']): Error {
  if (error.code !== undefined) return new PictorError(error.code, error.message, error.pointer === undefined ? {} : { pointer: error.pointer });
  return new Error(`render process: ${error.message}`);
}

function isPictorError(error: unknown): error is PictorError {
  return error instanceof PictorError;
}
