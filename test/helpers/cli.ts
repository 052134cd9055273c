import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The `pictor` command line, run from source as its own process. The entry and tsx's loader are absolute
 * paths, so it runs from any working directory.
 */
const ENTRY = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A failed command, as `cli` rejects with it: the message carries both outputs. */
export interface CliError extends Error, CliResult {}

export interface CliOptions {
  /** Standard input (none when absent). */
  input?: string;
  /** Added to this process's environment; an `undefined` value removes the variable. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Wraps the command line, e.g. to run it in another mount namespace (small-fs.ts) or under another umask. */
  command?: (argv: string[]) => string[];
  /** Killed after this long (a command that hangs must fail its test, not stall the run): 120 s by default. */
  timeoutMs?: number;
}

/** The command line of `pictor <args>` run from source. */
export function cliArgv(args: string[]): string[] {
  return [process.execPath, '--import', TSX, ENTRY, ...args];
}

/** Runs `pictor <args>` to its end; resolves with its exit code and outputs, whatever the code. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const [file, ...rest] = (options.command ?? ((argv) => argv))(cliArgv(args));
  return new Promise((resolve, reject) => {
    const child = spawn(file!, rest, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}

/** Runs `pictor <args>`, which must succeed: rejects with a `CliError` on any other exit code. */
export async function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await runCli(args, options);
  if (result.code === 0) return result;
  const error = new Error(`pictor ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`) as CliError;
  throw Object.assign(error, result);
}
