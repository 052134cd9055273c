/** 7. Memory: peak RSS of Pictor (the server and its render processes, counted whole) over a storm of renders of a 7360×4912 JPEG. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { coldJobs, pictorPath, writeLines, type Format } from '../lib/jobs.ts';
import { startPictor } from '../lib/pictor.ts';
import { descendantPids, procMemoryMb } from '../lib/proc.ts';
import { table, type Context, type Scenario } from '../lib/scenario.ts';
import { fmt } from '../lib/stats.ts';
import { pathsReport, wrk } from '../lib/wrk.ts';

interface Storm {
  label: string;
  formats: Format[];
}

/** JPEG and WebP stay in the server process; AVIF, whose encoder cannot be interrupted, runs in render processes. */
const STORMS: Storm[] = [
  { label: 'JPEG and WebP', formats: ['jpg', 'webp'] },
  { label: 'AVIF', formats: ['avif'] },
];

interface StormResult {
  storm: Storm;
  idle: number;
  serverPeak: number;
  serverAfter: number;
  whole: ReturnType<WholeMemory['report']>;
  requests: number;
  renders: number;
  okPerSecond: number;
  latency: string;
  problems: string[];
  commands: string[];
}

/** A fresh Pictor, `seconds` of distinct renders of the big JPEG in the storm's formats, memory counted whole. */
async function runStorm(context: Context, storm: Storm, seconds: number): Promise<StormResult> {
  const pictor = await startPictor(context.tmp, `s7-${storm.formats.join('-')}`, context.assets);
  try {
    const pid = pictor.child.pid;
    const idle = procMemoryMb(pid, 'VmHWM');
    const jobs = coldJobs(300, 1200, storm.formats, 75, 7);
    const paths = writeLines(join(context.tmp, `s7-${storm.formats.join('-')}.txt`), jobs.map((job) => pictorPath(context.big, job)));
    const whole = new WholeMemory(pid);
    const sampler = setInterval(() => whole.sample(), 50);
    const before = await pictor.renders();
    const result = await wrk({ url: pictor.renderUrl, connections: 8, seconds, script: 'paths.lua', scriptArgs: [paths] }).finally(() => clearInterval(sampler));
    whole.sample();
    const { sent, pool, hits } = pathsReport(result);
    return {
      storm,
      idle,
      serverPeak: procMemoryMb(pid, 'VmHWM'),
      serverAfter: procMemoryMb(pid, 'VmRSS'),
      whole: whole.report(),
      requests: result.requests,
      renders: (await pictor.renders()) - before,
      okPerSecond: result.okPerSecond,
      latency: `p50 ${fmt(result.latencyMs.p50, 0)} ms, p99 ${fmt(result.latencyMs.p99, 0)} ms`,
      problems: [
        ...(hits > 0 ? [`${hits} cache hits`] : []),
        ...(sent > pool ? [`URL pool exhausted (${sent} of ${pool})`] : []),
        ...(result.non2xx + result.socketErrors > 0 ? [`${result.non2xx} non-2xx, ${result.socketErrors} socket errors`] : []),
      ],
      commands: [pictor.command, result.command],
    };
  } finally {
    await pictor.stop();
  }
}

const TARGET_MB = 300;

export const s7: Scenario = {
  id: '7',
  title: 'Memory',
  async run(context) {
    const seconds = context.quick ? 4 : 15;
    const results: StormResult[] = [];
    for (const storm of STORMS) results.push(await runStorm(context, storm, seconds));
    const worst = Math.max(...results.map((result) => result.whole.sumOfPeaks));
    const column = (pick: (result: StormResult) => string): string[] => results.map(pick);
    return {
      comparedWith: 'published figures (not measured here): imgproxy 194 MB, thumbor 461 MB, imaginary 562 MB',
      capacity: {
        'memory-peak': { value: `${fmt(worst, 0)} MB peak (server and render processes), ${fmt(results[0]!.idle, 0)} MB idle`, against: `target ≤ ${TARGET_MB} MB` },
      },
      verdicts: [
        ...results.map((result) => ({
          label: `${result.storm.label} storm: peak RSS of the server and every render process (sum of their VmHWM)`,
          value: `${fmt(result.whole.sumOfPeaks, 0)} MB`,
          target: `≤ ${TARGET_MB} MB`,
          pass: result.whole.sumOfPeaks <= TARGET_MB,
        })),
        ...results.map((result) => ({ label: `${result.storm.label} storm: renders/s`, value: fmt(result.okPerSecond, 1), target: 'informational', pass: undefined })),
      ],
      body: [
        `Per storm, a fresh Pictor process; ${seconds} s of distinct renders of the 7360×4912 JPEG (widths 300–1200 px, \`q=75\`), concurrency 8. MB = MiB read from \`/proc/<pid>/status\` of the server and of every process it started (its render processes), every 50 ms.`,
        table(['', ...column((result) => result.storm.label)], [
          ['Server: VmHWM after start, idle', ...column((result) => fmt(result.idle, 0))],
          ['Server: VmHWM after the storm (peak)', ...column((result) => fmt(result.serverPeak, 0))],
          ['Server: VmRSS after the storm', ...column((result) => fmt(result.serverAfter, 0))],
          ['Render processes seen', ...column((result) => String(result.whole.processes - 1))],
          ['Their VmHWM, each (last read)', ...column((result) => result.whole.renderPeaks.map((mb) => fmt(mb, 0)).join(', ') || '—')],
          ['Server and render processes: VmRSS summed at each sample, max', ...column((result) => fmt(result.whole.peakOfSum, 0))],
          ['**Server and render processes: sum of every VmHWM (counted whole)**', ...column((result) => `**${fmt(result.whole.sumOfPeaks, 0)}**`)],
          ['Responses / renders', ...column((result) => `${result.requests} / ${result.renders}`)],
          ['Latency', ...column((result) => result.latency)],
          ['Problems', ...column((result) => result.problems.join('; ') || 'none')],
        ]),
      ],
      reading:
        results
          .map((result) => `${result.storm.label}: counted whole, the server and its render processes peaked at ${fmt(result.whole.sumOfPeaks, 0)} MB (target ${TARGET_MB} MB: ${result.whole.sumOfPeaks <= TARGET_MB ? 'met' : 'missed'}; the most held at one instant, sampled, ${fmt(result.whole.peakOfSum, 0)} MB; the server alone ${fmt(result.serverPeak, 0)} MB, with ${result.whole.processes - 1} render processes). `)
          .join('') +
        'The sum of peaks is an upper bound: a render process replaced during the storm is counted beside the one that replaced it. ' +
        `The memory is made of the decode buffers of the renders running at once (libvips streams JPEG decoding with shrink-on-load where it can, but each running render of a 36-megapixel master holds its own pipeline), the master's bytes in the origin cache (a ${fmt(statSync(join(context.assets, context.big)).size / 2 ** 20, 1)} MB file, held once), rendered derivatives in the memory tier, and glibc arenas that libvips threads keep. ` +
        'The published figures for imgproxy, thumbor and imaginary come from their own setups and machines and were not measured here; they are a reference, not a ratio.',
      commands: results.flatMap((result) => result.commands),
    };
  },
};

/**
 * The memory of a server and of every process it started, counted whole: each process's own peak (VmHWM, read
 * at every sample while it lives, so a process that ended counts with its last reading) and the sum of their
 * resident sizes at each sample.
 */
class WholeMemory {
  private readonly peaks = new Map<number, number>();
  private peakOfSum = 0;

  constructor(private readonly root: number) {}

  sample(): void {
    let sum = 0;
    for (const pid of [this.root, ...descendantPids(this.root)]) {
      try {
        sum += procMemoryMb(pid, 'VmRSS');
        this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, procMemoryMb(pid, 'VmHWM')));
      } catch {
        // it ended between the listing and the reading
      }
    }
    this.peakOfSum = Math.max(this.peakOfSum, sum);
  }

  report(): { sumOfPeaks: number; peakOfSum: number; processes: number; renderPeaks: number[] } {
    const renderPeaks = [...this.peaks].filter(([pid]) => pid !== this.root).map(([, mb]) => mb);
    const sumOfPeaks = [...this.peaks.values()].reduce((total, mb) => total + mb, 0);
    return { sumOfPeaks, peakOfSum: this.peakOfSum, processes: this.peaks.size, renderPeaks };
  }
}
