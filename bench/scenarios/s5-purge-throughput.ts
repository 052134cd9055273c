/** 5. Purge throughput: distinct asset URLs accepted (200, durably recorded) per second at concurrency 64. */
import { startPictor } from '../lib/pictor.ts';
import { sleep } from '../lib/proc.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt, fmtSpread, median, spread } from '../lib/stats.ts';
import { wrk } from '../lib/wrk.ts';

export const s5: Scenario = {
  id: '5',
  title: 'Purge throughput',
  async run(context) {
    const seconds = context.quick ? 2 : 5;
    const rounds = 3;
    const pictor = await startPictor(context.tmp, 's5', context.assets);
    try {
      const accepted: number[] = [];
      const rows: (string | number)[][] = [];
      const problems: string[] = [];
      let command = '';
      let drainNote = '';
      const appliedRates: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const before = await pictor.metric('pictor_purges_total');
        const result = await wrk({ url: pictor.adminUrl, connections: 64, seconds, script: 'purge.lua', scriptArgs: [pictor.apiKey, pictor.renderUrl, `r${round}`] });
        command = result.command.replace(pictor.apiKey, '<api key>');
        const counted = (await pictor.metric('pictor_purges_total')) - before;
        const ok = result.requests - result.non2xx;
        if (result.non2xx + result.socketErrors > 0) problems.push(`round ${round + 1}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
        if (counted < ok) problems.push(`round ${round + 1}: ${ok} × 200 but pictor_purges_total grew by ${counted}`);
        const queued = await pictor.metric('pictor_purge_queue_depth');
        accepted.push(result.okPerSecond);
        // Let the backlog complete before the next round (bounded), so rounds start alike.
        const t0 = performance.now();
        const completed0 = await pictor.metric('pictor_purge_completion_seconds_count');
        while ((await pictor.metric('pictor_purge_queue_depth')) > 0 && performance.now() - t0 < 6_000) await sleep(100);
        const drainSeconds = (performance.now() - t0) / 1000;
        const applied = ((await pictor.metric('pictor_purge_completion_seconds_count')) - completed0) / drainSeconds;
        appliedRates.push(applied);
        const left = await pictor.metric('pictor_purge_queue_depth');
        drainNote = `${left}`;
        rows.push([round + 1, fmt(result.okPerSecond, 0), ok, counted, fmt(result.latencyMs.p50, 1), fmt(result.latencyMs.p99, 1), queued, `${fmt(drainSeconds, 1)} s${left > 0 ? ` (${left} still queued)` : ''}`, fmt(applied, 0)]);
      }
      const s = spread(accepted);
      const pass = s.median >= 1000;
      return {
        comparedWith: '— (target only)',
        verdicts: [{ label: 'purges accepted per second (200), c=64', value: fmtSpread(s, 0), target: '≥ 1,000/s', pass }],
        body: [
          `wrk, 1 thread, 64 connections, ${seconds} s per round, ${rounds} rounds; every request purges a distinct asset URL (\`/tp/r<round>/<n>.jpg\`, no coalescing). "counted" is the growth of \`pictor_purges_total\`; "queued" is \`pictor_purge_queue_depth\` right after the round, then the bench waits (≤ 6 s) for those purges to complete.`,
          table(['round', 'accepted/s', '200s', 'counted', 'p50 ms', 'p99 ms', 'queued after', 'drain time', 'applied/s while draining'], rows),
          problems.length ? `**Problems:** ${problems.join('; ')}.` : 'Every request got a 200 and was counted.',
        ],
        reading:
          `Pictor accepted a median ${fmt(s.median, 0)} distinct purges per second at concurrency 64 (target 1,000/s: ${pass ? 'met' : 'missed'}). Each 200 means the purge is in SQLite after an fsync, so this rate is bounded by how many purges share one fsync (group commit) and by the per-request cost of the admin listener (authentication, JSON:API validation, resolving the Source) on one event loop; the purges behind it complete at about ${fmt(median(appliedRates), 0)} purges/s once requests stop${median(appliedRates) < s.median ? `, slower than purges are accepted: under a sustained storm at this rate the queue, and the time to \`completed\`, would keep growing` : ', as fast as they are accepted'}${drainNote === '0' ? '; it had drained the queue within the wait after each round' : `; ${drainNote} purges were still queued after the last wait`}.`,
        commands: [pictor.command, command],
      };
    } finally {
      await pictor.stop();
    }
  },
};
