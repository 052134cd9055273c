/** 1. Cold renders: distinct srcset-style derivatives of a 2000×1333 JPEG, concurrency 8, vs ipx and a naive sharp loop. */
import { join } from 'node:path';
import { cpuWindow, groupCpuSeconds, waitIdle } from '../lib/cpu.ts';
import { getOk } from '../lib/http.ts';
import { coldJobs, ipxPath, pictorPath, writeLines, type Job } from '../lib/jobs.ts';
import { PARITY_AVIF_EFFORT } from '../lib/parity.ts';
import { encoderFloorCommand, naiveCommand, runEncoderFloor, runNaive, startIpx, type Server } from '../lib/peers.ts';
import { startPictor } from '../lib/pictor.ts';
import { table, type Context, type Scenario } from '../lib/scenario.ts';
import { fmt, fmtRatio, fmtSpread, interleave, median, ratios, spread } from '../lib/stats.ts';
import { pathsReport, wrk } from '../lib/wrk.ts';

const FORMATS = ['jpg', 'webp', 'avif'] as const;
/** How many outputs the encoders' floor is measured on (a multiple of the formats: equal shares). */
const FLOOR_OUTPUTS = 60;
const CONTENDERS = ['pictor', 'ipx', 'naive'] as const;
type Contender = (typeof CONTENDERS)[number];
const LABELS: Record<Contender, string> = {
  pictor: 'Pictor',
  ipx: 'ipx, encoder parity',
  naive: 'naive sharp loop, encoder parity',
};

/** The cold-render URL pool at quality q (vary q to get a fresh pool). */
export function roundJobs(q: number): Job[] {
  return coldJobs(100, 2000, FORMATS, q);
}

export interface ColdRun {
  /** Completed renders (2xx responses) per second. */
  rate: number;
  responses: number;
  /** CPU seconds of the rendering process during the window. */
  cpuSeconds: number;
  /** Share of the machine busy with work the bench did not start (0–1). */
  otherShare: number;
  /** Share of the machine busy at all (0–1). */
  busyShare: number;
  p99Ms: number;
  /** Seconds the server needed after the window to finish the renders wrk abandoned. */
  drainSeconds: number;
  problems: string[];
  command: string;
}

/**
 * One wrk run over distinct derivative paths against an HTTP server whose process is `pid`, checked cold.
 * Then waits for the server to finish the renders wrk abandoned, unless `drain` is false (the caller waits).
 */
export async function httpColdRun(baseUrl: string, pid: number, paths: string[], seconds: number, file: string, who: string, drain = true): Promise<ColdRun> {
  const pathsFile = writeLines(file, paths);
  const window = cpuWindow();
  const cpu0 = groupCpuSeconds(pid);
  const result = await wrk({ url: baseUrl, connections: 8, seconds, script: 'paths.lua', scriptArgs: [pathsFile] });
  const cpuSeconds = groupCpuSeconds(pid) - cpu0;
  const { otherShare, busyShare } = window.end();
  const drainSeconds = drain ? await waitIdle(pid) : NaN;
  const problems: string[] = [];
  const { sent, pool, hits } = pathsReport(result);
  if (hits > 0) problems.push(`${who}: ${hits} cache hits`);
  if (sent > pool) problems.push(`${who}: URL pool exhausted (${sent} of ${pool})`);
  if (result.non2xx + result.socketErrors > 0) problems.push(`${who}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
  return { rate: result.okPerSecond, responses: result.requests - result.non2xx, cpuSeconds, otherShare, busyShare, p99Ms: result.latencyMs.p99, drainSeconds, problems, command: result.command };
}

const pct = (share: number): string => `${fmt(share * 100, 0)} %`;
const perRenderMs = (r: ColdRun): number => (r.cpuSeconds / Math.max(r.responses, 1)) * 1000;
export const cpuPerRenderMs = (runs: ColdRun[]): number => median(runs.map(perRenderMs));
/** Per round: b's CPU per render / a's, i.e. how many more renders a gets from a CPU-second than b. */
const efficiency = (a: ColdRun[], b: ColdRun[]): number[] => a.map((run, i) => perRenderMs(b[i]!) / perRenderMs(run));

export const s1: Scenario = {
  id: '1',
  title: 'Cold renders',
  async run(context: Context) {
    const seconds = context.quick ? 3 : 10;
    const rounds = 3;
    const pictor = await startPictor(context.tmp, 's1', context.assets);
    const servers: Server[] = [];
    try {
      const ipx = await startIpx(context.assets, 'parity');
      servers.push(ipx);
      // Warm-up (not measured): first sharp load, first read of the master.
      await getOk(`${pictor.renderUrl}/${context.photo}?w=64&q=10`);
      await getOk(`${ipx.url}/w_64,q_10/${context.photo}`);

      const master = join(context.assets, context.photo);
      const runs: Record<Contender, ColdRun[]> = { pictor: [], ipx: [], naive: [] };
      const pictorRenders: string[] = [];
      const values = await interleave(rounds, CONTENDERS, async (who, round) => {
        const jobs = roundJobs(70 + round);
        const file = join(context.tmp, `s1-r${round}-${who}`);
        let run: ColdRun;
        if (who === 'pictor') {
          const before = await pictor.renders();
          run = await httpColdRun(pictor.renderUrl, pictor.child.pid, jobs.map((job) => pictorPath(context.photo, job)), seconds, `${file}.txt`, LABELS[who]);
          pictorRenders.push(`${(await pictor.renders()) - before} renders for ${run.responses} responses`);
        } else if (who === 'naive') {
          const jobsFile = writeLines(`${file}.json`, [JSON.stringify(jobs.map((j) => ({ ...j, fm: j.fm === 'jpg' ? 'jpeg' : j.fm })))]);
          const window = cpuWindow();
          const naive = await runNaive(master, jobsFile, seconds, 8, PARITY_AVIF_EFFORT);
          const { otherShare, busyShare } = window.end();
          const command = `node ${naiveCommand(master, jobsFile, seconds, 8, PARITY_AVIF_EFFORT).join(' ')}`;
          run = { rate: naive.renders / naive.seconds, responses: naive.renders, cpuSeconds: naive.cpuSeconds, otherShare, busyShare, p99Ms: NaN, drainSeconds: 0, problems: naive.exhausted ? ['naive: job list exhausted'] : [], command };
        } else {
          run = await httpColdRun(ipx.url, ipx.child.pid, jobs.map((job) => ipxPath(context.photo, job)), seconds, `${file}.txt`, LABELS[who]);
        }
        runs[who].push(run);
        return run.rate;
      });

      // Encoder check, after the rounds: one request per format and server, for the bytes and a rough cost.
      const ipxDefaults = await startIpx(context.assets, 'defaults');
      servers.push(ipxDefaults);
      await getOk(`${ipxDefaults.url}/w_64,q_10/${context.photo}`);
      const parityRows: string[][] = [];
      const avifMs: number[] = []; // Pictor, ipx parity, ipx as shipped
      for (const fm of FORMATS) {
        const job: Job = { w: 1000, fm, q: 75 };
        const urls = [pictor.renderUrl + pictorPath(context.photo, job), ipx.url + ipxPath(context.photo, job), ipxDefaults.url + ipxPath(context.photo, job)];
        const cells: string[] = [];
        for (const url of urls) {
          const t0 = performance.now();
          const reply = await getOk(url);
          const ms = performance.now() - t0;
          cells.push(`${reply.body.length.toLocaleString('en-US')} B, ${fmt(ms, 0)} ms`);
          if (fm === 'avif') avifMs.push(ms);
        }
        parityRows.push([fm, ...cells]);
      }
      const avifShippedFactor = avifMs[2]! / avifMs[1]!;

      // The floor: the encoders' own CPU for the first outputs of a round's pool (its mix of widths and formats).
      const floorJobs = writeLines(join(context.tmp, 's1-floor.json'), [JSON.stringify(roundJobs(70).map((j) => ({ ...j, fm: j.fm === 'jpg' ? 'jpeg' : j.fm })))]);
      const floorCount = context.quick ? 12 : FLOOR_OUTPUTS;
      const floor = await runEncoderFloor(master, floorJobs, floorCount, PARITY_AVIF_EFFORT);
      const floorCommand = `node ${encoderFloorCommand(master, floorJobs, floorCount, PARITY_AVIF_EFFORT).join(' ')}`;

      const vsIpx = spread(ratios(values.pictor, values.ipx));
      const vsNaive = spread(ratios(values.pictor, values.naive));
      const problems = CONTENDERS.flatMap((who) => runs[who].flatMap((r) => r.problems));
      const rows = CONTENDERS.map((who) => [
        LABELS[who],
        fmtSpread(spread(values[who])),
        values[who].map((v) => fmt(v)).join(', '),
        fmt(cpuPerRenderMs(runs[who]), 0),
        runs[who].map((r) => pct(r.busyShare)).join(', '),
        runs[who].map((r) => pct(r.otherShare)).join(', '),
        who === 'naive' ? '—' : fmt(median(runs[who].map((r) => r.p99Ms)), 0),
        runs[who].map((r) => fmt(r.drainSeconds, 1)).join(', '),
      ]);
      const ipxPass = vsIpx.median >= 1.3;
      const naivePass = vsNaive.median >= 1.0;
      const cpuPictor = cpuPerRenderMs(runs.pictor);
      const cpuIpx = cpuPerRenderMs(runs.ipx);
      const cpuNaive = cpuPerRenderMs(runs.naive);
      const overFloor = cpuPictor / floor.meanMs;
      const floorPass = overFloor <= 1.1;
      const busyPictor = median(runs.pictor.map((r) => r.busyShare));
      const busyIpx = median(runs.ipx.map((r) => r.busyShare));
      const maxOther = Math.max(...CONTENDERS.flatMap((who) => runs[who].map((r) => r.otherShare)));
      return {
        comparedWith: 'ipx 3.1.1 (same URLs in its syntax, same sharp) and a naive in-process sharp loop (own process)',
        capacity: { cold: { value: `${fmt(median(values.pictor))} renders/s (${fmt(cpuPictor, 0)} ms of CPU each)`, against: `${fmtRatio(vsIpx)} ipx (target ≥ 1.3×)` } },
        verdicts: [
          { label: 'Pictor / ipx (renders/s, encoder parity)', value: fmtRatio(vsIpx), target: '≥ 1.3×', pass: ipxPass },
          { label: 'Pictor / naive loop (renders/s, encoder parity)', value: fmtRatio(vsNaive), target: '≥ 1.0×', pass: naivePass },
          { label: "Pictor's CPU per render / the encoders' own CPU for the same outputs", value: `${fmt(overFloor, 2)}×`, target: '≤ 1.1× (or ≥ 1.3× ipx)', pass: floorPass || ipxPass },
          { label: 'Pictor / ipx, renders per CPU-second (cross-check, robust to other load)', value: fmtRatio(spread(efficiency(runs.pictor, runs.ipx))), target: 'informational', pass: undefined },
          { label: 'Pictor / naive loop, renders per CPU-second', value: fmtRatio(spread(efficiency(runs.pictor, runs.naive))), target: 'informational', pass: undefined },
        ],
        body: [
          `Widths 100–2000 px (each once per format, shuffled), JPEG/WebP/AVIF in turn, \`q\` = 70 + round (a fresh URL pool per round), concurrency 8, ${seconds} s per contender per round, ${rounds} rounds interleaved in the order of the table. "CPU per render" is the rendering process's CPU time (all threads) over the window divided by the renders completed in it; "machine busy" is the share of both cores in use, "other work" the share used by processes the bench did not start; "drain" is how long the server then needed to finish the renders wrk abandoned at the end (the next contender starts only after that; the naive loop finishes its own before exiting).`,
          table(['Contender', 'renders/s, median (min–max)', 'per round', 'CPU ms per render', 'machine busy, per round', 'other work, per round', 'p99 ms', 'drain s, per round'], rows),
          'Encoder check after the rounds: `w=1000`, `q=75` (not used in the rounds, so a render everywhere), one request per format and server, one at a time; bytes and time (a single request, so a rough cost only):',
          table(['format', 'Pictor', 'ipx, encoder parity', 'ipx as shipped (AVIF effort 4)'], parityRows),
          `The encoders' floor: the first ${floor.encodes} outputs of round 1's pool (the same mix of widths and formats), each output's pixels made first and only its encode timed, with Pictor's settings (own process, one at a time): ${fmt(floor.meanMs, 0)} ms of CPU per encode on average (${Object.entries(floor.perFormat).map(([fm, ms]) => `${fm} ${fmt(ms, 0)} ms`).join(', ')}), against Pictor's ${fmt(cpuPictor, 0)} ms per render: ${fmt(overFloor, 2)}×.`,
          `Pictor's own count of renders (metrics delta) per round: ${pictorRenders.join('; ')} (renders ≥ responses: requests still running at the end are rendered but not counted). ${problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No cache hit, no error, no URL pool exhausted.'}`,
        ],
        reading:
          `Every request was a distinct derivative, so this is render throughput; one AVIF costs several JPEGs, so each ${seconds}-s window counts only ${fmt(Math.min(...values.pictor, ...values.ipx) * seconds, 0)}–${fmt(Math.max(...values.pictor, ...values.ipx) * seconds, 0)} renders and the rounds spread. ` +
          `Pictor did ${fmt(median(values.pictor))} renders/s against ${fmt(median(values.ipx))} for ipx and ${fmt(median(values.naive))} for the naive loop with the same encoder settings: ${fmt(vsIpx.median, 2)}× ipx (${ipxPass ? 'meets' : 'misses'} 1.3×) and ${fmt(vsNaive.median, 2)}× the naive loop (${naivePass ? 'meets' : 'misses'} 1.0×). ` +
          `All of them spend nearly all their time in the same libvips encoders, so the CPU per render tells why: Pictor used ${fmt(cpuPictor, 0)} ms per render against ipx's ${fmt(cpuIpx, 0)} ms, with the machine ${pct(busyPictor)} against ${pct(busyIpx)} busy. ` +
          (cpuPictor > cpuIpx * 1.05
            ? `Pictor spends ${fmt((cpuPictor / cpuIpx - 1) * 100, 0)} % more CPU per render than ipx, so its own work per render (pipeline steps, caching, HTTP) is where renders/s are lost. `
            : cpuPictor < cpuIpx * 0.95
              ? `Pictor needs ${fmt((1 - cpuPictor / cpuIpx) * 100, 0)} % less CPU per render than ipx, and that is where its lead comes from. `
              : 'Pictor spends about the same CPU per render as ipx. ') +
          `Against the floor, the encoders' own CPU for the same outputs (${fmt(floor.meanMs, 0)} ms), a render costs ${fmt(overFloor, 2)}× (target ≤ 1.1×: ${floorPass ? 'met' : 'missed'}): the rest is decoding and resizing the master, and Pictor's own work. ` +
          (busyPictor < busyIpx - 0.05 ? 'It also leaves cores idle (machine busy column): its render concurrency or queueing holds it back. ' : '') +
          (ipxPass
            ? ''
            : `With both cores saturated, renders/s is the inverse of CPU per render, so 1.3× ipx needs about ${fmt(cpuIpx / 1.3, 0)} ms of CPU per render instead of ${fmt(cpuPictor, 0)}. ` +
              (cpuPictor > cpuNaive
                ? `The naive loop, which has no HTTP and no caches, needs ${fmt(cpuNaive, 0)} ms: Pictor's ${fmt(cpuPictor - cpuNaive, 0)} ms more per render is its own overhead (HTTP, cache writes, hashing, metrics) and the first place to look, before the image pipeline itself (decoding less: shrink-on-load, reusing a decoded master across widths). `
                : `Pictor already needs less than the naive loop (${fmt(cpuNaive, 0)} ms, no HTTP, no caches), so at equal encoder settings the only room left is in decoding and resampling, which Pictor already does from decoded, pre-shrunk masters; the note below measures how much of a render the encoders alone take. `)) +
          (maxOther > 0.1
            ? `Other processes used up to ${pct(maxOther)} of the machine in some runs (the "other work" column): when that differs between the runs of a round, their renders/s are not comparable; renders per CPU-second (the cross-check above) depends on it less, though shared cores and caches still inflate CPU time under load. `
            : '') +
          `Sanity check: at the naive loop's ${fmt(cpuPerRenderMs(runs.naive), 0)} ms of CPU per render, two cores cannot exceed ${fmt(2000 / cpuPerRenderMs(runs.naive), 0)} renders/s; calibration figures of about 53/s for ipx and 62–69/s for the naive loop would need ≤ 35 ms per render, i.e. a much cheaper image or format mix than this photographic one with a third of the outputs in AVIF. ` +
          `The comparison is at encoder parity on purpose: ipx as shipped encodes AVIF at sharp's effort 4, which in the encoder check took ${fmt(avifShippedFactor, 1)}× as long for an AVIF (and gave a smaller file) — a difference of settings, not of servers, which would make any ratio against ipx as shipped meaningless for Pictor's design.`,
        commands: [pictor.command, ipx.command, ...CONTENDERS.map((who) => runs[who][0]!.command), ipxDefaults.command, floorCommand],
      };
    } finally {
      await Promise.all([pictor.stop(), ...servers.map((s) => s.stop())]);
    }
  },
};
