/** wrk (Debian's) as the load generator: one thread, N connections, fixed duration, latency percentiles. */
import { REPO } from './pictor.ts';
import { run } from './proc.ts';

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Responses that were 2xx/3xx, per second. */
  okPerSecond: number;
  non2xx: number;
  socketErrors: number;
  latencyMs: { p50: number; p90: number; p99: number };
  /** Lines printed by the Lua script's done(). */
  scriptOutput: string;
  command: string;
}

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** A script in bench/wrk/ and its arguments. */
  script?: string;
  scriptArgs?: string[];
  /** Run wrk on this core only (see pinGroup in cpu.ts). */
  cpu?: number;
}

export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '--timeout', '30s'];
  if (options.script) args.push('-s', `bench/wrk/${options.script}`);
  args.push(options.url);
  if (options.scriptArgs) args.push('--', ...options.scriptArgs);
  const [command, commandArgs] = options.cpu === undefined ? ['wrk', args] : ['taskset', ['-c', String(options.cpu), 'wrk', ...args]];
  const { code, output } = await run(command, commandArgs, { cwd: REPO, timeoutMs: (options.seconds + 45) * 1000 });
  if (code !== 0) throw new Error(`wrk failed (${code}):\n${output}`);
  return { ...parseWrk(output), command: `${command} ${commandArgs.map((a) => (/[?&;' ]/.test(a) ? `'${a}'` : a)).join(' ')}` };
}

function parseWrk(output: string): Omit<WrkResult, 'command'> {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(output);
  if (!total) throw new Error(`cannot read wrk output:\n${output}`);
  const requests = Number(total[1]);
  const seconds = toMs(Number(total[2]), total[3]!) / 1000;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    return match ? toMs(Number(match[1]), match[2]!) : NaN;
  };
  const scriptOutput = output.split('\n').filter((line) => line.startsWith('paths:')).join('\n');
  return {
    requests,
    seconds,
    okPerSecond: (requests - non2xx) / seconds,
    non2xx,
    socketErrors,
    latencyMs: { p50: percentile('50'), p90: percentile('90'), p99: percentile('99') },
    scriptOutput,
  };
}

function toMs(value: number, unit: string): number {
  return unit === 'us' ? value / 1000 : unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
}

/** Reads "paths: <sent> of <n> sent, cache hits: <hits>" from paths.lua. */
export function pathsReport(result: WrkResult): { sent: number; pool: number; hits: number } {
  const match = /paths: (\d+) of (\d+) sent, cache hits: (\d+)/.exec(result.scriptOutput);
  return match ? { sent: Number(match[1]), pool: Number(match[2]), hits: Number(match[3]) } : { sent: NaN, pool: NaN, hits: NaN };
}
