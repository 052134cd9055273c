/** 7. Memory: peak RSS of Pictor over a storm of renders of a 7360×4912 JPEG. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { coldJobs, pictorPath, writeLines } from '../lib/jobs.ts';
import { startPictor } from '../lib/pictor.ts';
import { procMemoryMb } from '../lib/proc.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt } from '../lib/stats.ts';
import { pathsReport, wrk } from '../lib/wrk.ts';

export const s7: Scenario = {
  id: '7',
  title: 'Memory',
  async run(context) {
    const seconds = context.quick ? 4 : 15;
    const pictor = await startPictor(context.tmp, 's7', context.assets);
    try {
      const pid = pictor.child.pid;
      const idle = procMemoryMb(pid, 'VmHWM');
      const jobs = coldJobs(300, 1200, ['jpg', 'webp'], 75, 7);
      const paths = writeLines(join(context.tmp, 's7.txt'), jobs.map((job) => pictorPath(context.big, job)));
      let sampledPeak = 0;
      const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, procMemoryMb(pid, 'VmRSS'))), 100);
      const before = await pictor.renders();
      const result = await wrk({ url: pictor.renderUrl, connections: 8, seconds, script: 'paths.lua', scriptArgs: [paths] }).finally(() => clearInterval(sampler));
      const renders = (await pictor.renders()) - before;
      const peak = procMemoryMb(pid, 'VmHWM');
      const after = procMemoryMb(pid, 'VmRSS');
      const { sent, pool, hits } = pathsReport(result);
      const problems = [
        ...(hits > 0 ? [`${hits} cache hits`] : []),
        ...(sent > pool ? [`URL pool exhausted (${sent} of ${pool})`] : []),
        ...(result.non2xx + result.socketErrors > 0 ? [`${result.non2xx} non-2xx, ${result.socketErrors} socket errors`] : []),
      ];
      const pass = peak <= 300;
      return {
        comparedWith: 'published figures (not measured here): imgproxy 194 MB, thumbor 461 MB, imaginary 562 MB',
        capacity: { 'memory-peak': { value: `${fmt(peak, 0)} MB peak, ${fmt(idle, 0)} MB idle`, against: 'target ≤ 300 MB' } },
        verdicts: [
          { label: 'peak RSS (VmHWM) of the Pictor process', value: `${fmt(peak, 0)} MB`, target: '≤ 300 MB', pass },
          { label: 'renders/s during the storm', value: fmt(result.okPerSecond, 1), target: 'informational', pass: undefined },
        ],
        body: [
          `A fresh Pictor process; ${seconds} s of distinct renders of the 7360×4912 JPEG (widths 300–1200 px, JPEG and WebP in turn, \`q=75\`), concurrency 8. MB = MiB read from \`/proc/<pid>/status\`.`,
          table(['', 'MB'], [
            ['VmHWM after start, idle', fmt(idle, 0)],
            ['VmRSS sampled every 100 ms during the storm, max', fmt(sampledPeak, 0)],
            ['**VmHWM after the storm (peak)**', `**${fmt(peak, 0)}**`],
            ['VmRSS after the storm', fmt(after, 0)],
          ]),
          `${result.requests} responses, ${renders} renders (metrics delta), p50 ${fmt(result.latencyMs.p50, 0)} ms, p99 ${fmt(result.latencyMs.p99, 0)} ms. ${problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No cache hit, no error.'}`,
        ],
        reading:
          `Peak resident memory was ${fmt(peak, 0)} MB (target 300 MB: ${pass ? 'met' : 'missed'}), from ${fmt(idle, 0)} MB idle. It is made of the decode buffers of the renders running at once (libvips streams JPEG decoding with shrink-on-load where it can, but each running render of a 36-megapixel master holds its own pipeline), the master's bytes in the origin cache (a ${fmt(statSync(join(context.assets, context.big)).size / 2 ** 20, 1)} MB file, held once), rendered derivatives in the memory tier, and glibc arenas that libvips threads keep. ` +
          `The published figures for imgproxy, thumbor and imaginary come from their own setups and machines and were not measured here; they are a reference, not a ratio.`,
        commands: [pictor.command, result.command],
      };
    } finally {
      await pictor.stop();
    }
  },
};
