/**
 * CPU accounting from /proc, to tell measurements apart from other work on the machine (other engineers'
 * builds and tests share these two cores). "ours" is the bench process (with the children it has reaped,
 * e.g. wrk) plus every process in the process groups the bench started; "other" is the rest of the
 * machine's busy time.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { descendantPids, sleep, trackedGroups } from './proc.ts';

let ticks: number | undefined;
const clockTicks = (): number => (ticks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100);

/** Fields of /proc/<pid>/stat from #3 (state) on: index i is field #(i + 3). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * CPU seconds (user + system, all threads) used so far by a child the bench started and by every process in
 * its process group (nginx's worker, say): the children lead their own groups.
 */
export function groupCpuSeconds(pgid: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[2]) === pgid) total += (Number(f[11]) + Number(f[12])) / clockTicks(); // f[2] is #5, the group
  }
  return total;
}

/** CPU seconds that the children a process has waited for used (cutime + cstime): ended render processes, ffmpegs. */
export function reapedCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[13]) + Number(f[14])) / clockTicks() : 0;
}

/** CPU seconds (user + system, all threads) used so far by one process, or undefined once it has ended. */
export function processCpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f || f[0] === 'Z') return undefined;
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/** CPU seconds (user + system, all threads) used so far by these processes and all their descendants. */
export function treeCpuSeconds(roots: number[]): number {
  let total = 0;
  for (const pid of new Set(roots.flatMap((root) => [root, ...descendantPids(root)]))) {
    const f = statFields(pid);
    if (f) total += (Number(f[11]) + Number(f[12])) / clockTicks();
  }
  return total;
}

/** The core servers are pinned to in scenarios that pin (the load generator gets `LOAD_CPU`). */
export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

/** Whether this machine can give a server and its load generator a core each (Linux taskset, ≥ 2 cores). */
export function canPin(): boolean {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pins every thread of every process in a process group to one core. Scenarios that compare one event
 * loop with another (cache hits) pin each server to core 0 and wrk to core 1: otherwise the scheduler
 * sometimes puts both on one core for a whole round, and rounds of the same server differ by 2×.
 */
export function pinGroup(pgid: number, cpu: number): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[2]) === pgid) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), entry], { stdio: 'ignore' });
  }
}

/**
 * CPU seconds the machine has spent in processes so far (user, nice, system) from /proc/stat. Interrupt and
 * softirq time (loopback networking at high request rates) and steal are left out: no process owns them.
 */
function machineBusySeconds(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system] = values.map(Number);
  return (user! + nice! + system!) / clockTicks();
}

interface Snapshot {
  /** The bench and what it started. */
  ours: number;
  /** Every other process: pid → [name, CPU seconds]. */
  others: Map<number, [string, number]>;
}

function snapshot(roots: number[]): Snapshot {
  const self = statFields('self')!;
  // utime, stime, cutime, cstime: the bench itself and the children it has waited for (wrk, naive loop).
  let ours = (Number(self[11]) + Number(self[12]) + Number(self[13]) + Number(self[14])) / clockTicks();
  const others = new Map<number, [string, number]>();
  const groups = trackedGroups();
  const trees = new Set(roots.flatMap((root) => [root, ...descendantPids(root)]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const f = statFields(Number(entry));
    if (!f) continue;
    // Ours: with what they have reaped (cutime, cstime), so that a render process or an ffmpeg that ended
    // within the window still counts as the bench's work.
    if (groups.has(Number(f[2])) || trees.has(Number(entry))) ours += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks(); // f[2] is #5, the process group
    // Others: their own CPU only (what short-lived processes used shows in otherShare, not in the names).
    else others.set(Number(entry), [processName(Number(entry)), (Number(f[11]) + Number(f[12])) / clockTicks()]);
  }
  return { ours, others };
}

/** "node eslint" rather than just "node": the command and the last path segment of its first argument. */
function processName(pid: number): string {
  try {
    const [command = '?', first = ''] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const base = (path: string): string => (path.split(' ')[0]!.split('/').pop() ?? path).slice(0, 24);
    return first && !first.startsWith('-') ? `${base(command)} ${base(first)}` : base(command);
  } catch {
    return '?';
  }
}

export interface CpuWindow {
  seconds: number;
  /** Machine busy time / (wall time × cores): 1 = both cores busy all along. */
  busyShare: number;
  /** Busy time of processes the bench did not start / (wall time × cores). */
  otherShare: number;
  /** The other running processes that used the most, e.g. "node tsc 35 %, node eslint 12 %". */
  topOthers: string;
}

/**
 * Starts a window; end() reports how busy the machine was and how much of that was other people's work.
 * `roots` are processes the bench did not spawn through proc.ts but runs all the same (a cluster's nodes,
 * edges and PostgreSQL): they and their descendants count as the bench's own work.
 */
export function cpuWindow(roots: () => number[] = () => []): { end: () => CpuWindow } {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  const start = snapshot(roots());
  return {
    end() {
      const seconds = (performance.now() - t0) / 1000;
      const capacity = seconds * cpus().length;
      const busy = machineBusySeconds() - busy0;
      const now = snapshot(roots());
      const byName = new Map<string, number>();
      for (const [pid, [name, cpu]] of now.others) byName.set(name, (byName.get(name) ?? 0) + cpu - (start.others.get(pid)?.[1] ?? 0));
      const topOthers = [...byName]
        .filter(([, cpu]) => cpu / capacity >= 0.02)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([name, cpu]) => `${name} ${((cpu / capacity) * 100).toFixed(0)} %`)
        .join(', ');
      return { seconds, busyShare: busy / capacity, otherShare: Math.max(0, busy - (now.ours - start.ours)) / capacity, topOthers };
    },
  };
}

/**
 * Waits (at most maxSeconds) until a process is idle: below 10 % of one core over 250 ms. wrk abandons the
 * requests still running when its time is up, but the server finishes those renders; without this wait they
 * would steal CPU from whatever is measured next. Returns the seconds waited.
 */
export async function waitIdle(pid: number, maxSeconds = 30): Promise<number> {
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < maxSeconds) {
    const before = groupCpuSeconds(pid);
    await sleep(250);
    if (groupCpuSeconds(pid) - before < 0.025) break;
  }
  return (performance.now() - t0) / 1000;
}
