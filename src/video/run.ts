import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { toolArgv, type ToolArg } from './media-input.ts';

export interface RunOptions {
  /** The process is killed (SIGKILL) after this long, and the run fails. */
  timeoutMs: number;
  /** Run at the lowest CPU priority, so image renders on the same cores go first. */
  background?: boolean;
  /** Keep stdout (ffprobe's JSON), at most this many bytes; past it the run fails. Default: discarded. */
  stdoutLimit?: number;
  /** Aborting kills the process (at shutdown). */
  signal?: AbortSignal;
  /** Written to the process's stdin (an input `{ stdin: true }`); otherwise stdin is closed. */
  stdin?: Readable;
}

export interface RunResult {
  stdout: string;
}

/** A tool that failed: its exit code or signal, and the end of what it wrote to stderr (the useful part). */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** How much of stderr is kept: ffmpeg puts the reason for a failure in its last lines. */
const STDERR_TAIL = 4096;

/**
 * Runs ffmpeg or ffprobe with arguments (never through a shell), bounded in time and in what it keeps of
 * its output. Inputs are MediaInputs, restricted as media-input.ts says. Resolves when it exits with 0;
 * rejects with a ToolError otherwise.
 */
export function runTool(file: string, args: readonly ToolArg[], options: RunOptions): Promise<RunResult> {
  const argv = toolArgv(args);
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      const stdin = options.stdin ? 'pipe' : 'ignore';
      child = spawn(file, argv, { stdio: [stdin, 'pipe', 'pipe'], killSignal: 'SIGKILL', ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      reject(new ToolError(`${file} could not be started: ${(error as Error).message}`, ''));
      return;
    }
    if (options.background && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, 19);
      } catch {
        // Already exited, or not permitted: it runs at normal priority.
      }
    }
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: string | undefined;
    if (options.stdin) {
      feed(child, options.stdin, (error) => {
        // Its code, not its message: that names a path under the data directory.
        failure ??= `the input of ${file} could not be read (${(error as NodeJS.ErrnoException).code ?? error.name})`;
        child.kill('SIGKILL');
      });
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      if (options.stdoutLimit === undefined) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.stdoutLimit) {
        failure ??= `${file} wrote more than ${options.stdoutLimit} bytes`;
        child.kill('SIGKILL');
      } else {
        stdout.push(chunk);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const timer = setTimeout(() => {
      failure ??= `${file} did not finish within ${Math.round(options.timeoutMs / 1000)} s`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      failure ??= error.name === 'AbortError' ? `${file} was stopped` : `${file} could not be started: ${error.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.stdin?.destroy();
      if (failure === undefined && code === 0) return resolve({ stdout: Buffer.concat(stdout).toString('utf8') });
      reject(new ToolError(failure ?? `${file} exited with ${code ?? signal}`, stderr.trim()));
    });
  });
}

/** Pipes `input` into the child's stdin. */
function feed(child: ReturnType<typeof spawn>, input: Readable, onError: (error: Error) => void): void {
  // A tool that stops reading early (it failed, or has what it needs) closes the pipe: its exit says why.
  child.stdin!.on('error', () => {});
  input.on('error', onError);
  input.pipe(child.stdin!);
}

/**
 * The line of a tool's stderr that says why it failed, for an error state's reason: the first that names a
 * problem with the data, else the last one. `file` (a path under the data directory) is replaced by "the file".
 */
export function failureLine(stderr: string, file?: string): string {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !/^(Cannot use rename|Last message repeated)/.test(line));
  const line = lines.find((candidate) => /invalid data|partial file|moov atom|corrupt|no such file/i.test(candidate)) ?? lines.at(-1) ?? '';
  // Inputs are named `file:<path>` (media-input.ts).
  const named = file === undefined ? line : line.replaceAll(`file:${file}`, 'the file').replaceAll(file, 'the file');
  // Any other path (an output under the data directory) is nobody's business either.
  const scrubbed = named.replace(/(^|[\s'"])(?:file:)?\/[^\s'":,]+/g, '$1a file');
  return scrubbed.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '');
}
