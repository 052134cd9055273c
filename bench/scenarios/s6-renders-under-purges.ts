/** 6. Cold renders (scenario 1's workload) while a purge storm of other assets runs at 100 purges/s. */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitIdle } from '../lib/cpu.ts';
import { getOk, request } from '../lib/http.ts';
import { pictorPath } from '../lib/jobs.ts';
import { startPictor, type Pictor } from '../lib/pictor.ts';
import { sleep } from '../lib/proc.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt, fmtRatio, fmtSpread, interleave, median, percentile, ratios, spread } from '../lib/stats.ts';
import { cpuPerRenderMs, httpColdRun, roundJobs, type ColdRun } from './s1-cold.ts';

const RATE = 100;
const STORM_ASSETS = 200;

/** Sends RATE purges per second (of STORM_ASSETS other assets, in turn) until stopped; counts outcomes. */
function storm(pictor: Pictor): { stop: () => Promise<{ ok: number; failed: number; seconds: number }> } {
  const started = performance.now();
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    while (sent < due) {
      const p = pictor.purge(`${pictor.renderUrl}/storm/a${sent++ % STORM_ASSETS}.png`).then(() => void ok++, () => void failed++);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      await Promise.all(inFlight);
      return { ok, failed, seconds };
    },
  };
}

/** GETs /healthz every 20 ms and keeps the round trips: how long a request waits for Pictor's event loop. */
function probe(pictor: Pictor): { stop: () => number[] } {
  const times: number[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const t0 = performance.now();
      await request(`${pictor.renderUrl}/healthz`).catch(() => undefined);
      times.push(performance.now() - t0);
      await sleep(20);
    }
  })();
  return {
    stop() {
      stopped = true;
      return times;
    },
  };
}

const probeText = (times: number[]): string => `${fmt(percentile(times, 50), 1)} / ${fmt(percentile(times, 99), 1)} / ${fmt(Math.max(...times), 0)}`;
const pct = (share: number): string => `${fmt(share * 100, 0)} %`;

export const s6: Scenario = {
  id: '6',
  title: 'Renders during a purge storm',
  async run(context) {
    const seconds = context.quick ? 3 : 10;
    const rounds = 3;
    mkdirSync(join(context.assets, 'storm'), { recursive: true });
    for (let i = 0; i < STORM_ASSETS; i++) copyFileSync(context.tiny, join(context.assets, 'storm', `a${i}.png`));
    const pictor = await startPictor(context.tmp, 's6', context.assets);
    try {
      await getOk(`${pictor.renderUrl}/${context.photo}?w=64&q=10`);
      // Give every storm asset a cached derivative, so that each purge has something to invalidate.
      for (let i = 0; i < STORM_ASSETS; i++) await getOk(`${pictor.renderUrl}/storm/a${i}.png?w=4`);
      const runs: { quiet: ColdRun[]; storm: ColdRun[] } = { quiet: [], storm: [] };
      const probes: { quiet: number[]; storm: number[] } = { quiet: [], storm: [] };
      const stormRates: number[] = [];
      const problems: string[] = [];
      const values = await interleave(rounds, ['quiet', 'storm'] as const, async (who, round) => {
        // Fresh URLs for every run: q = 60 + 2·round (quiet) or 61 + 2·round (storm).
        const jobs = roundJobs(60 + 2 * round + (who === 'storm' ? 1 : 0));
        const purges = who === 'storm' ? storm(pictor) : undefined;
        const prober = probe(pictor);
        try {
          const run = await httpColdRun(pictor.renderUrl, pictor.child.pid, jobs.map((job) => pictorPath(context.photo, job)), seconds, join(context.tmp, `s6-r${round}-${who}.txt`), `Pictor (${who})`, false);
          runs[who].push(run);
          problems.push(...run.problems);
          return run.rate;
        } finally {
          probes[who].push(...prober.stop());
          if (purges) {
            const outcome = await purges.stop();
            stormRates.push(outcome.ok / outcome.seconds);
            if (outcome.failed) problems.push(`round ${round + 1}: ${outcome.failed} purges failed`);
          }
          // Only now, with the storm stopped: let Pictor finish abandoned renders and queued purges.
          await waitIdle(pictor.child.pid);
        }
      });
      const ratio = spread(ratios(values.storm, values.quiet));
      const pass = ratio.median >= 0.8;
      const row = (label: string, who: 'quiet' | 'storm'): string[] => [
        label,
        fmtSpread(spread(values[who])),
        values[who].map((v) => fmt(v)).join(', '),
        fmt(cpuPerRenderMs(runs[who]), 0),
        runs[who].map((r) => pct(r.busyShare)).join(', '),
        runs[who].map((r) => pct(r.otherShare)).join(', '),
        probeText(probes[who]),
      ];
      const cpuQuiet = cpuPerRenderMs(runs.quiet);
      const cpuStorm = cpuPerRenderMs(runs.storm);
      const busyQuiet = median(runs.quiet.map((r) => r.busyShare));
      const busyStorm = median(runs.storm.map((r) => r.busyShare));
      const maxOther = Math.max(...[...runs.quiet, ...runs.storm].map((r) => r.otherShare));
      return {
        comparedWith: "scenario 1's Pictor workload without purges, interleaved (same server, fresh URLs each run)",
        verdicts: [{ label: 'renders/s with storm / without', value: fmtRatio(ratio), target: '≥ 0.8×', pass }],
        body: [
          `Scenario 1's workload (distinct widths 100–2000, JPEG/WebP/AVIF, concurrency 8, ${seconds} s) against one Pictor, alternately alone and while the bench POSTs ${RATE} purges/s, each of one of ${STORM_ASSETS} other 8×8 PNGs (each with a cached derivative); ${rounds} rounds. CPU per render counts all of Pictor's CPU (the purges' too) per completed render; \`/healthz\` on the render listener is probed every 20 ms during each run: its round trip is how long a request waits for Pictor's event loop.`,
          table(['Case', 'renders/s, median (min–max)', 'per round', 'Pictor CPU ms per render', 'machine busy, per round', 'other work, per round', '/healthz ms p50 / p99 / max'], [
            row('no purges', 'quiet'),
            row(`purge storm (achieved ${stormRates.map((r) => fmt(r, 0)).join(', ')} purges/s)`, 'storm'),
          ]),
          problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No cache hit, no error; every storm purge got a 200.',
        ],
        reading:
          `Renders ran at ${fmt(ratio.median, 2)}× their quiet rate while ${fmt(median(stormRates), 0)} purges/s of other assets were accepted and applied (target 0.8×: ${pass ? 'met' : 'missed'}). ` +
          `The purges touch no rendered asset, so what they take is shared resources: Pictor's CPU per completed render went from ${fmt(cpuQuiet, 0)} to ${fmt(cpuStorm, 0)} ms with the purges' work included, the machine was ${pct(busyQuiet)} busy without and ${pct(busyStorm)} with them, and /healthz waited ${fmt(percentile(probes.quiet, 99), 1)} ms (p99) without against ${fmt(percentile(probes.storm, 99), 1)} ms with them. ` +
          (busyStorm < busyQuiet - 0.05
            ? 'The machine was less busy during the storm yet rendered less: renders were left waiting rather than crowded out, which points to the event loop being blocked. Pictor\'s SQLite store (better-sqlite3, `synchronous = FULL`) commits on the thread that also accepts requests and dispatches renders, and each purge needs a commit to be accepted and one to complete, each with an fsync. '
            : 'The machine stayed as busy, so the purges mostly took CPU from the renders (HTTP, validation, SQLite commits with fsync, the origin check, applying and deleting files) on two cores that the renders already fill. ') +
          (maxOther > 0.1 ? `Other processes used up to ${pct(maxOther)} of the machine in some runs ("other work"); a round where that differs between the two cases is not a fair pair.` : ''),
        commands: [pictor.command, runs.quiet[0]!.command, `# meanwhile: ${RATE} × POST ${pictor.adminUrl}/api/v1/purge per second (node:http), url = ${pictor.renderUrl}/storm/a<i>.png`],
      };
    } finally {
      await pictor.stop();
    }
  },
};
