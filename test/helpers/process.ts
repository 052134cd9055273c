import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  child: ChildProcess;
  renderUrl: string;
  adminUrl: string;
  /** Set on the first start of a data directory only. */
  apiKey: string | undefined;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Spawns `pictor serve` as its own process (for kill -9 and signal tests) and waits until it is ready.
 * `command` wraps its command line, e.g. to run it in another mount namespace (see small-fs.ts).
 */
export async function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}, command: (argv: string[]) => string[] = (argv) => argv): Promise<ServerProcess> {
  const [file, ...rest] = command([process.execPath, '--import', 'tsx', 'src/cli/index.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', ...args]);
  const child = spawn(file!, rest, {
    env: { ...process.env, PICTOR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/Admin URL:\s+\S+/.test(output)) {
    if (child.exitCode !== null) throw new Error(`pictor exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pictor did not start in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const renderUrl = /Render URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const adminUrl = /Admin URL:\s+(\S+?)\/?\n/.exec(output)![1]!;
  const apiKey = /API key:\s+(ak_[0-9a-f]{64})/.exec(output)?.[1];
  return { child, renderUrl, adminUrl, apiKey, output: () => output, exited };
}
