/** 3. Stampede: 64 simultaneous requests for one uncached derivative, vs 64 requests for 64 different ones. */
import { agent, getOk, request } from '../lib/http.ts';
import { startPictor } from '../lib/pictor.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt, fmtRatio, fmtSpread, interleave, median, ratios, spread } from '../lib/stats.ts';

const CONTENDERS = ['single', 'stampede', 'hits', 'distinct'] as const;
const LABELS = {
  single: '1 request, 1 uncached derivative',
  stampede: '64 simultaneous requests, the same uncached derivative',
  hits: 'the same 64 requests again (now cache hits)',
  distinct: '64 simultaneous requests, 64 different uncached derivatives',
};

export const s3: Scenario = {
  id: '3',
  title: 'Stampede',
  async run(context) {
    const rounds = context.quick ? 3 : 5;
    const pictor = await startPictor(context.tmp, 's3', context.assets);
    try {
      const url = (w: number, q: number): string => `${pictor.renderUrl}/${context.photo}?w=${w}&fm=webp&q=${q}`;
      await getOk(url(64, 10)); // the master is in Pictor's origin cache from here on: every case below is render-only
      await Promise.all(Array.from({ length: 64 }, () => getOk(`${pictor.renderUrl}/healthz`))); // 64 open keep-alive sockets
      const renders: Record<string, number[]> = { single: [], stampede: [], hits: [], distinct: [] };
      const statuses: string[] = [];
      const values = await interleave(rounds, CONTENDERS, async (who, round) => {
        const q = 60 + round;
        const targets = who === 'single' ? [url(1200, q)] : who === 'distinct' ? Array.from({ length: 64 }, (_, i) => url(1202 + i, q)) : Array.from({ length: 64 }, () => url(1201, q));
        const before = await pictor.renders();
        const t0 = performance.now();
        const replies = await Promise.all(targets.map((target) => request(target)));
        const ms = performance.now() - t0;
        renders[who]!.push((await pictor.renders()) - before);
        const bad = replies.filter((r) => r.status !== 200);
        if (bad.length) throw new Error(`${who}: ${bad.length} responses were not 200 (${bad[0]!.status})`);
        if (who === 'stampede') {
          const kinds = new Map<string, number>();
          for (const reply of replies) {
            const status = String(reply.headers['cache-status']).replace(/^.*Pictor; /, 'Pictor; ');
            kinds.set(status, (kinds.get(status) ?? 0) + 1);
          }
          statuses.push([...kinds].map(([k, n]) => `${n}× \`${k}\``).join(', '));
          if (new Set(replies.map((r) => r.body.length)).size !== 1) throw new Error('stampede: responses differ');
        }
        return ms;
      });
      const exactlyOne = renders.stampede!.every((n) => n === 1);
      const vsSingle = spread(ratios(values.stampede, values.single));
      const distinctVsStampede = spread(ratios(values.distinct, values.stampede));
      const rows = CONTENDERS.map((who) => [LABELS[who], fmtSpread(spread(values[who]), 0), values[who].map((v) => fmt(v, 0)).join(', '), renders[who]!.join(', ')]);
      return {
        comparedWith: 'a single request for one uncached derivative, and 64 requests for 64 different derivatives',
        verdicts: [
          { label: 'renders for 64 identical requests (metrics delta, every round)', value: renders.stampede!.join(', '), target: 'exactly 1', pass: exactlyOne },
          { label: 'stampede time / single-render time', value: fmtRatio(vsSingle), target: '≈ 1× (≤ 1.5×)', pass: vsSingle.median <= 1.5 },
          { label: '64 distinct / stampede (time)', value: fmtRatio(distinctVsStampede), target: 'informational', pass: undefined },
        ],
        body: [
          `\`w=1200…1265&fm=webp\` of the 2000×1333 JPEG (master already in Pictor's origin cache), \`q\` = 60 + round; all requests sent at once over 64 open keep-alive connections; time until the last response. ${rounds} rounds, interleaved in the order of the table.`,
          table(['Case', 'total time ms, median (min–max)', 'per round', 'renders per round'], rows),
          `Cache-Status of the 64 stampede responses, per round: ${statuses.join(' | ')}.`,
        ],
        reading:
          `${exactlyOne ? 'Every' : 'Not every'} stampede of 64 identical requests caused exactly one render (metrics delta ${renders.stampede!.join(', ')}): ${exactlyOne ? 'the other 63 joined the running render' : 'coalescing let some requests render again'}. ` +
          `The stampede took ${fmt(median(values.stampede), 0)} ms against ${fmt(median(values.single), 0)} ms for a lone request (${fmt(vsSingle.median, 2)}×; "≈ one render" is read here as at most 1.5×). What it adds over one render is receiving and answering 64 requests: the same 64 requests as cache hits took ${fmt(median(values.hits), 0)} ms, so one render plus that (${fmt(median(values.single) + median(values.hits), 0)} ms) is what a perfect coalescer would take. ` +
          `64 different derivatives took ${fmt(median(values.distinct), 0)} ms (${fmt(distinctVsStampede.median, 1)}× the stampede): that is the work coalescing saves, bounded by Pictor's render concurrency on two cores.`,
        commands: [pictor.command, `# 64 × GET ${url(1201, 60)} at once (node:http, keep-alive agent, ${agent.maxSockets} sockets max)`],
      };
    } finally {
      await pictor.stop();
    }
  },
};
