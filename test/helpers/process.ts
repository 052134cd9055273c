import { spawn, type ChildProcess } from 'node:child_process';
import { cliArgv } from './cli.ts';

export interface ServerProcess {
  child: ChildProcess;
  renderUrl: string;
  adminUrl: string;
  /** Set on the first start of a data directory only. */
  apiKey: string | undefined;
  /** The dashboard's `admin` password: set on the first start of a data directory (or database) only. */
  adminPassword: string | undefined;
  /** Standard output and error as they came, interleaved. */
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/**
 * Spawns `pictor serve` as its own process (for kill -9 and signal tests) and waits until it is ready.
 * `command` wraps its command line, e.g. to run it in another mount namespace (see small-fs.ts).
 */
export async function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}, command: (argv: string[]) => string[] = (argv) => argv): Promise<ServerProcess> {
  const [file, ...rest] = command(cliArgv(['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', ...args]));
  const child = spawn(file!, rest, {
    env: { ...process.env, PICTOR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Waits for the banner (or the exit), with a bound only so that a server that never starts fails its test.
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 60_000);
    const check = (): void => {
      if (!/Admin URL:\s+\S+\n/.test(output)) return;
      clearTimeout(timer);
      resolve(true);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(/Admin URL:\s+\S+\n/.test(output));
    });
  });
  if (!started) {
    const exit = child.exitCode ?? child.signalCode;
    if (exit !== null) throw new Error(`pictor exited early (${exit}):\n${output}`);
    child.kill('SIGKILL');
    throw new Error(`pictor did not start in time:\n${output}`);
  }
  const renderUrl = /Render URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const adminUrl = /Admin URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const apiKey = /API key:\s+(ak_[0-9a-f]{64})/.exec(output)?.[1];
  const adminPassword = /Dashboard password:\s+(\S+)/.exec(output)?.[1];
  return { child, renderUrl, adminUrl, apiKey, adminPassword, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}
