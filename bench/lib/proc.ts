/**
 * Child processes of the bench. Each one is spawned in its own process group and tracked, so that
 * stop() (and, on any exit path, killAll()) ends it together with whatever it forked (nginx workers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Child {
  process: ChildProcess;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

export function start(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.on('error', () => {
      running.delete(child);
      resolve(-1);
    });
  });
  return { process: child, pid: child.pid, output: () => output, exited };
}

/** Process group ids of the children still running (each child leads its own group). */
export function trackedGroups(): Set<number> {
  return new Set([...running].map((child) => child.pid!).filter((pid) => pid !== undefined));
}

/** Signals the whole process group, then SIGKILLs the group if the child has not exited within graceMs. */
export async function stop(child: Child, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!running.has(child.process)) return; // already exited (its group id may since belong to someone else)
  killGroup(child.pid, signal);
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([child.exited, timer])) === 'timeout') {
    killGroup(child.pid, 'SIGKILL');
    await child.exited;
  }
}

/** Synchronous last resort for exit paths: SIGKILL every group still tracked. */
export function killAll(): void {
  for (const child of running) if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
  running.clear();
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Runs a command to completion (bounded by timeoutMs) and returns its exit code and output. */
export async function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; output: string }> {
  const child = start(command, args, options);
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.timeoutMs ?? 120_000);
  try {
    const code = await child.exited;
    return { code, output: child.output() };
  } finally {
    clearTimeout(timer);
  }
}

export { freePort } from '../../test/helpers/ports.ts';

/** Reads a field of /proc/<pid>/status in MiB (VmHWM: peak resident set; VmRSS: current). */
export function procMemoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** The pids of a process's descendants (children, their children…), read from /proc. */
export function descendantPids(rootPid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const found = [rootPid];
  for (let i = 0; i < found.length; i++) for (const [pid, parent] of parents) if (parent === found[i]) found.push(pid);
  return found.slice(1);
}

/** VmRSS of a process in MB, 0 once it has ended. */
export function rssMbOr0(pid: number): number {
  try {
    return procMemoryMb(pid, 'VmRSS');
  } catch {
    return 0;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until the output of a child matches, or fails with that output. */
export async function waitForOutput(child: Child, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const match = pattern.exec(child.output());
    if (match) return match;
    if (child.process.exitCode !== null) throw new Error(`${what} exited early (${child.process.exitCode}):\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start in time:\n${child.output()}`);
    await sleep(20);
  }
}

/**
 * Runs a bench script's `main` so that it never leaves anything behind: every child it started is killed on
 * any exit path (an error, SIGINT, SIGTERM, SIGHUP), and `onSignal` (removing its temp dir, say) runs when
 * it is interrupted. A failure is printed as `<name> failed: …` and sets the exit code.
 */
export async function runToTheEnd(name: string, main: () => Promise<void>, onSignal: () => void = () => {}): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      onSignal();
      process.exit(130);
    });
  }
  process.on('exit', killAll);
  await main().catch((error: unknown) => {
    killAll();
    process.stderr.write(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
