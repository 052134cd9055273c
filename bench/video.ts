/**
 * `npm run bench:video`: the Video API against one `pictor serve` (built, from dist/) on 127.0.0.1, two ways:
 *
 * 1. time to first playable HLS: a fresh 20 s 720p H.264/AAC clip, from its first `?fm=hls` request (423)
 *    until the master playlist, its first variant playlist and that playlist's first segment all answer 200;
 * 2. distinct cold image renders per second in a fixed window with no video work, against the same window
 *    while a fresh clip of the same kind encodes (its encode started first), interleaved.
 *
 * The clips are made with ffmpeg's lavfi test sources (never downloaded) by the ffmpeg Pictor uses: the one
 * the npm packages ship, or BENCH_FFMPEG (passed to `serve --ffmpeg`). It prints a markdown section and writes
 * it into BENCHMARKS.md (the `video` block, kept when `npm run bench` regenerates the file). BENCH_QUICK=1
 * shortens everything to check the instrument and writes nothing. Everything it starts, it stops.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FFMPEG } from '../test/helpers/video.ts';
import { cpuWindow, groupCpuSeconds, processCpuSeconds, reapedCpuSeconds, waitIdle } from './lib/cpu.ts';
import { getOk, request } from './lib/http.ts';
import { photoJpeg } from './lib/images.ts';
import { coldJobs, pictorPath } from './lib/jobs.ts';
import { REPO, startPictor, type Pictor } from './lib/pictor.ts';
import { descendantPids, runToTheEnd, sleep } from './lib/proc.ts';
import { measuredOn, writeSeparateRun } from './lib/report.ts';
import { startBench } from './lib/standalone.ts';
import { table } from './lib/scenario.ts';
import { fmt, fmtRatio, median, ratios, spread } from './lib/stats.ts';

const QUICK = process.env.BENCH_QUICK === '1';
/** An ffmpeg other than the npm one, for Pictor (`--ffmpeg`) and for making the clips. */
const CHOSEN_FFMPEG = process.env.BENCH_FFMPEG;
const CLIP_SECONDS = QUICK ? 6 : 20;
const CLIP_SIZE = '1280x720';
/** Time-to-first-playable samples, each a fresh clip. */
const PLAYABLE_SAMPLES = QUICK ? 1 : 2;
/** Quiet and busy windows, interleaved (quiet, busy, quiet, busy, …); each busy window encodes a fresh clip. */
const ROUNDS = QUICK ? 2 : 3;
const WINDOW_SECONDS = QUICK ? 3 : 8;
/** Renders in flight at once, as in the cold-render scenario. */
const CONCURRENCY = 8;
const POLL_MS = 100;
/** Longest wait for one encode (it runs at the lowest priority, so a loaded machine slows it down). */
const ENCODE_LIMIT_MS = 120_000;
const REPORT = join(REPO, 'BENCHMARKS.md');
/** JPEG and WebP in turn: AVIF would cost several of them per render and leave few renders per window. */
const FORMATS = ['jpg', 'webp'] as const;

const runFile = promisify(execFile);

let tmp: string | undefined;

async function main(): Promise<void> {
  const started = performance.now();
  const measured = measuredOn();
  const { log, loadBefore } = await startBench('bench:video', 600);

  tmp = mkdtempSync(join(tmpdir(), 'pictor-bench-video-'));
  const assets = join(tmp, 'assets');
  mkdirSync(assets, { recursive: true });
  const ffmpeg = CHOSEN_FFMPEG ?? FFMPEG;
  log(`making the photo and a clip (${PLAYABLE_SAMPLES + ROUNDS} copies) of ${CLIP_SECONDS} s at ${CLIP_SIZE} with ${ffmpeg}…`);
  await photoJpeg(join(assets, 'photo.jpg'), 2000, 1333, 1);
  const clipStarted = performance.now();
  const clips = await makeClips(ffmpeg, assets, PLAYABLE_SAMPLES + ROUNDS);
  const clipSeconds = (performance.now() - clipStarted) / 1000;
  const clipBytes = clips.map((clip) => readFileSync(join(assets, clip)).length);

  const pictor = await startPictor(tmp, 'video', assets, { args: CHOSEN_FFMPEG ? ['--ffmpeg', CHOSEN_FFMPEG] : [] });
  try {
    const video = /Video:\s+(.+)/.exec(pictor.child.output())?.[1]?.trim() ?? '?';
    if (!video.startsWith('ffmpeg')) throw new Error(`the Video API is off: ${video}`);
    log(`Pictor: ${video}`);
    const window = cpuWindow();
    // Warm-up (not measured): the first render loads sharp and reads the photo.
    await getOk(`${pictor.renderUrl}/photo.jpg?w=64&q=10`);

    log(`part 1: time to first playable HLS, ${PLAYABLE_SAMPLES} clip(s)…`);
    const playable: Playable[] = [];
    for (let i = 0; i < PLAYABLE_SAMPLES; i++) {
      await waitIdle(pictor.child.pid);
      const sample = await firstPlayable(pictor, clips[i]!);
      playable.push(sample);
      log(`  ${clips[i]}: playable after ${fmt(sample.segmentMs / 1000, 2)} s`);
    }

    log(`part 2: cold renders, ${ROUNDS} rounds of ${WINDOW_SECONDS} s quiet then ${WINDOW_SECONDS} s while a clip encodes…`);
    const quiet: RenderWindow[] = [];
    const busy: (RenderWindow & Encode)[] = [];
    let q = 50;
    for (let round = 0; round < ROUNDS; round++) {
      await waitIdle(pictor.child.pid);
      quiet.push(await renderWindow(pictor, q++));
      await waitIdle(pictor.child.pid);
      busy.push(await whileEncoding(pictor, clips[PLAYABLE_SAMPLES + round]!, q++));
      const [a, b] = [quiet.at(-1)!, busy.at(-1)!];
      log(`  round ${round + 1}: ${fmt(a.rate)} renders/s quiet, ${fmt(b.rate)} while encoding (ffmpeg running ${fmt(b.coverage * 100, 0)} % of the window); encode done after ${fmt(b.encodeMs / 1000, 1)} s`);
    }
    const whole = window.end();
    const seconds = (performance.now() - started) / 1000;

    const report = render({ loadBefore, video, clipSeconds, clipBytes, playable, quiet, busy, seconds, whole, command: pictor.command });
    process.stdout.write(`${report}\n`);
    if (QUICK) log('BENCH_QUICK=1: BENCHMARKS.md left as it was');
    else {
      writeSeparateRun(REPORT, 'video', report, measured);
      log('written to BENCHMARKS.md (the video section)');
    }
    log(`total ${seconds.toFixed(0)} s`);
  } finally {
    await pictor.stop();
  }
}

/**
 * A clip as in the video reference: testsrc2 and a tone, H.264 High + AAC, a keyframe every 2 s, faststart.
 * Encoded once, then copied (`-c copy`) with a comment of its own per name: the same pictures and sound, so
 * every sample encodes the same work, but distinct bytes.
 */
async function makeClips(ffmpeg: string, dir: string, count: number): Promise<string[]> {
  const quiet = ['-nostdin', '-y', '-loglevel', 'error'];
  const source = join(dir, 'source.mp4');
  await runFile(ffmpeg, [
    ...quiet,
    '-f', 'lavfi', '-i', `testsrc2=size=${CLIP_SIZE}:rate=30:duration=${CLIP_SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-b:a', '128k', '-shortest', '-movflags', '+faststart',
    source,
  ], { timeout: 120_000 });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(`clip-${i}.mp4`);
    await runFile(ffmpeg, [...quiet, '-i', source, '-map', '0', '-c', 'copy', '-metadata', `comment=clip ${i}`, '-movflags', '+faststart', join(dir, names[i]!)], { timeout: 60_000 });
  }
  rmSync(source);
  return names;
}

// ————— 1. Time to first playable HLS —————

interface Playable {
  clip: string;
  /** The first request's answer (fetch and ffprobe, then 423). */
  firstMs: number;
  /** Each from the first request. */
  masterMs: number;
  variantMs: number;
  segmentMs: number;
  polls: number;
  renditions: string[];
  segments: number;
}

async function firstPlayable(pictor: Pictor, clip: string): Promise<Playable> {
  const master = `${pictor.renderUrl}/${clip}?fm=hls`;
  const t0 = performance.now();
  const first = await request(master);
  const firstMs = performance.now() - t0;
  if (first.status !== 423) throw new Error(`first GET ${master}: expected 423, got ${first.status} ${first.body.toString().slice(0, 200)}`);
  const { reply, polls } = await untilProcessed(master, t0);
  const masterMs = performance.now() - t0;
  const variantUrl = new URL(firstUri(reply.body.toString()), master).href;
  const variant = await getOk(variantUrl);
  const variantMs = performance.now() - t0;
  const segmentUrl = new URL(firstUri(variant.body.toString()), variantUrl).href;
  const segment = await getOk(segmentUrl);
  const segmentMs = performance.now() - t0;
  if (segment.headers['content-type'] !== 'video/mp2t' || segment.body.length === 0) throw new Error(`${segmentUrl}: ${segment.headers['content-type']}, ${segment.body.length} B`);
  const renditions = [...reply.body.toString().matchAll(/RESOLUTION=(\d+x\d+)/g)].map((m) => m[1]!);
  const segments = variant.body.toString().split('\n').filter((line) => line.startsWith('#EXTINF')).length;
  return { clip, firstMs, masterMs, variantMs, segmentMs, polls, renditions, segments };
}

/** GETs every POLL_MS until the answer is not 423; it must then be 200. */
async function untilProcessed(url: string, since: number): Promise<{ reply: Awaited<ReturnType<typeof request>>; polls: number }> {
  for (let polls = 1; ; polls++) {
    const reply = await request(url);
    if (reply.status === 200) return { reply, polls };
    if (reply.status !== 423) throw new Error(`GET ${url}: ${reply.status} ${reply.body.toString().slice(0, 300)}`);
    if (performance.now() - since > ENCODE_LIMIT_MS) throw new Error(`${url} still processing after ${ENCODE_LIMIT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** The first URI line of a playlist. */
function firstUri(playlist: string): string {
  const line = playlist.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!line) throw new Error(`a playlist without a URI:\n${playlist}`);
  return line;
}

// ————— 2. Cold renders, quiet and while a video encodes —————

interface RenderWindow {
  /** 200s completed inside the window, per second. */
  rate: number;
  renders: number;
  /** CPU seconds of Pictor's process group (server, render processes, ffmpeg) during the window. */
  cpuSeconds: number;
  otherShare: number;
  busyShare: number;
  problems: string[];
}

interface Encode {
  /** Share of the window during which the ladder's ffmpeg was running. */
  coverage: number;
  /** CPU seconds the ladder's ffmpeg used during the window. */
  ffmpegCpuSeconds: number;
  /** From the first request (423) until the master playlist answered 200. */
  encodeMs: number;
}

/**
 * Cold renders of distinct derivatives (widths 100–2000 px, JPEG and WebP in turn, at quality q), CONCURRENCY
 * at once, for WINDOW_SECONDS. `encoder` (an ffmpeg of the server's) is sampled every 200 ms and left out of
 * Pictor's CPU.
 */
async function renderWindow(pictor: Pictor, q: number, encoder?: EncoderWatch): Promise<RenderWindow> {
  const paths = coldJobs(100, 2000, FORMATS, q).map((job) => pictorPath('photo.jpg', job));
  const pictorCpu = (): number => groupCpuSeconds(pictor.child.pid) + reapedCpuSeconds(pictor.serverPid) - (encoder?.cpuNow() ?? 0);
  const window = cpuWindow();
  const cpu0 = pictorCpu();
  const deadline = performance.now() + WINDOW_SECONDS * 1000;
  let next = 0;
  let renders = 0;
  let hits = 0;
  let failed = 0;
  const sampler = setInterval(() => encoder?.cpuNow(), 200);
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && next < paths.length) {
      const reply = await request(pictor.renderUrl + paths[next++]!);
      if (performance.now() > deadline) break; // finished after the window: not counted
      if (reply.status !== 200) failed++;
      else if (String(reply.headers['cache-status'] ?? '').includes('Pictor; hit')) hits++;
      else renders++;
    }
  };
  const workers = Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await sleep(WINDOW_SECONDS * 1000);
  clearInterval(sampler);
  const cpuSeconds = pictorCpu() - cpu0;
  const { otherShare, busyShare } = window.end();
  await workers; // the renders still in flight finish before anything else is measured
  const problems: string[] = [];
  if (hits > 0) problems.push(`${hits} cache hits`);
  if (failed > 0) problems.push(`${failed} non-200 answers`);
  if (next >= paths.length) problems.push(`URL pool exhausted (${paths.length})`);
  return { rate: renders / WINDOW_SECONDS, renders, cpuSeconds, otherShare, busyShare, problems };
}

/**
 * One ffmpeg process followed through a window: how often it was alive, and its CPU time, the last seen
 * once it has ended (then the server has reaped it, and that time is in the server's reaped CPU).
 */
class EncoderWatch {
  private samples = 0;
  private alive = 0;
  private first: number | undefined;
  private last = 0;

  constructor(private readonly pid: number) {}

  /** Its CPU seconds so far. */
  cpuNow(): number {
    this.samples++;
    const cpu = processCpuSeconds(this.pid);
    if (cpu !== undefined) {
      this.alive++;
      this.first ??= cpu;
      this.last = cpu;
    }
    return this.last;
  }

  /** Share of the samples that found it running. */
  get coverage(): number {
    return this.alive / Math.max(this.samples, 1);
  }

  /** CPU seconds between the first sample and the last that found it running. */
  get cpuSeconds(): number {
    return this.last - (this.first ?? 0);
  }
}

/** Starts the encode of `clip` (its first `?fm=hls`), waits until its ffmpeg runs, measures a render window, then waits for the encode to end. */
async function whileEncoding(pictor: Pictor, clip: string, q: number): Promise<RenderWindow & Encode> {
  const master = `${pictor.renderUrl}/${clip}?fm=hls`;
  const t0 = performance.now();
  const first = await request(master);
  if (first.status !== 423) throw new Error(`first GET ${master}: expected 423, got ${first.status}`);
  let pid: number | undefined;
  while ((pid = ladderEncoder(pictor.serverPid)) === undefined) {
    if (performance.now() - t0 > 30_000) throw new Error(`no ffmpeg encoding ${clip} within 30 s`);
    await sleep(20);
  }
  const encoder = new EncoderWatch(pid);
  const window = await renderWindow(pictor, q, encoder);
  await untilProcessed(master, t0);
  const encodeMs = performance.now() - t0;
  return { ...window, coverage: encoder.coverage, ffmpegCpuSeconds: encoder.cpuSeconds, encodeMs };
}

/** The ffmpeg encoding a ladder (`-filter_complex … split`) under the server, if one runs. */
function ladderEncoder(serverPid: number): number | undefined {
  for (const pid of descendantPids(serverPid)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('ffmpeg') && argv.includes('-filter_complex') && argv.some((arg) => arg.includes('split='))) return pid;
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

// ————— Report —————

function render(r: {
  loadBefore: string;
  video: string;
  clipSeconds: number;
  clipBytes: number[];
  playable: Playable[];
  quiet: RenderWindow[];
  busy: (RenderWindow & Encode)[];
  seconds: number;
  whole: { otherShare: number; topOthers: string };
  command: string;
}): string {
  const playableS = median(r.playable.map((p) => p.segmentMs)) / 1000;
  const perRound = ratios(r.busy.map((b) => b.rate), r.quiet.map((q) => q.rate));
  const ratio = spread(perRound);
  const ratioPass = ratio.median >= 0.7;
  // Each rate over the share of the machine that other work left: what it would be on a machine of its own.
  const spare = (w: RenderWindow): number => w.rate / Math.max(1 - w.otherShare, 0.05);
  const adjusted = spread(ratios(r.busy.map(spare), r.quiet.map(spare)));
  const pct = (share: number): string => `${fmt(share * 100, 0)} %`;
  const cpuPerRender = (w: RenderWindow): number => (w.cpuSeconds / Math.max(w.renders, 1)) * 1000;
  const quietEncode = median(r.playable.map((p) => p.masterMs)) / 1000;
  const busyEncode = median(r.busy.map((b) => b.encodeMs)) / 1000;
  const ffmpegCpu = median(r.busy.map((b) => b.ffmpegCpuSeconds));
  const minCoverage = Math.min(...r.busy.map((b) => b.coverage));
  const problems = [...r.quiet.map((w, i) => ({ w, label: `quiet ${i + 1}` })), ...r.busy.map((w, i) => ({ w, label: `encoding ${i + 1}` }))].flatMap(({ w, label }) => w.problems.map((p) => `${label}: ${p}`));
  const maxOther = Math.max(...r.quiet.map((w) => w.otherShare), ...r.busy.map((w) => w.otherShare));
  const mb = (bytes: number): string => `${fmt(bytes / 1e6, 1)} MB`;

  return [
    `**One run of \`npm run bench:video\`** (\`bench/video.ts\`), Pictor from \`dist/\`; ${(r.seconds / 60).toFixed(1)} min. ` +
      `On this one machine (${cpus().length} cores, load average before ${r.loadBefore}), against 127.0.0.1: one \`pictor serve\` with the defaults (\`--video-concurrency 1\`; encodes at the lowest CPU priority). ` +
      `Video: ${r.video}; the clips were made by the same ffmpeg. ` +
      `Processes the bench did not start used ${pct(r.whole.otherShare)} of the machine during the run${r.whole.topOthers ? ` (largest: ${r.whole.topOthers})` : ''}.${QUICK ? ' **BENCH_QUICK=1: short clips and windows; these numbers check the instrument, they do not measure Pictor.**' : ''}`,
    '',
    table(['Measure', 'Result', 'Target', ''], [
      [`time to first playable HLS, ${CLIP_SECONDS} s ${CLIP_SIZE} H.264/AAC clip (median of ${r.playable.length})`, `${fmt(playableS, 2)} s`, 'informational', '—'],
      ['cold image renders/s while a video encodes / quiet (per round)', fmtRatio(ratio), '≥ 0.7×', ratioPass ? '**PASS**' : '**MISS**'],
      ['the same, each rate divided by the share of the machine other work left (cross-check)', fmtRatio(adjusted), 'informational', '—'],
    ]),
    '',
    '### 1. Time to first playable HLS',
    '',
    `Each sample is a fresh clip made like the video reference's test input (\`testsrc2=size=${CLIP_SIZE}:rate=30\` and a 440 Hz \`sine\`, libx264 \`veryfast\`, \`-g 60\`, AAC 128k, \`+faststart\`; ${mb(r.clipBytes[0]!)}; ${fmt(r.clipSeconds, 1)} s to make), encoded once and copied under a name of its own for each sample (\`-c copy\`, a \`comment\` of its own: the same work to encode, distinct bytes). ` +
      `From sending its first \`?fm=hls\` request (answered 423 after fetching and probing it), the master playlist is asked for again every ${POLL_MS} ms until it answers 200; then its first variant playlist and that playlist's first segment (\`video/mp2t\`) are fetched. Each time is from the first request; Pictor was idle (below 10 % of a core) before each sample, and no image was being rendered.`,
    '',
    table(['clip', 'first answer (423) ms', 'master 200 s', 'variant 200 s', 'first segment 200 s = playable', 'polls', 'renditions', 'segments per rendition'], r.playable.map((p) => [
      p.clip, fmt(p.firstMs, 0), fmt(p.masterMs / 1000, 2), fmt(p.variantMs / 1000, 2), `**${fmt(p.segmentMs / 1000, 2)}**`, p.polls, p.renditions.join(', '), p.segments,
    ])),
    '',
    '### 2. Cold image renders while a video encodes',
    '',
    `${ROUNDS} rounds, each a window of ${WINDOW_SECONDS} s with no video work, then one of ${WINDOW_SECONDS} s while a fresh clip of the same kind encodes (its first \`?fm=hls\` sent and its ladder's ffmpeg seen running before the window opens; after the window the bench waits for the encode to finish and Pictor to go idle). ` +
      `In each window ${CONCURRENCY} requests at a time ask for distinct derivatives of a 2000×1333 photographic JPEG (widths 100–2000 px shuffled, JPEG and WebP in turn, a quality of its own per window so every URL is cold); only 200s completed inside the window count. ` +
      `"Pictor CPU" is what its server and render processes (ended ones included) used, ffmpeg left out, per render; "ffmpeg running" is the share of the window during which the encode's process was alive (sampled every 200 ms).`,
    '',
    table(['round', 'quiet renders/s', 'while encoding renders/s', 'ratio', 'Pictor CPU ms per render, quiet / encoding', 'ffmpeg CPU s in the window', 'ffmpeg running', 'encode: 423 → master 200, s', 'machine busy, quiet / encoding', 'other work, quiet / encoding'], r.quiet.map((q, i) => {
      const b = r.busy[i]!;
      return [i + 1, fmt(q.rate), fmt(b.rate), fmt(perRound[i]!, 2), `${fmt(cpuPerRender(q), 0)} / ${fmt(cpuPerRender(b), 0)}`, fmt(b.ffmpegCpuSeconds, 1), pct(b.coverage), fmt(b.encodeMs / 1000, 1), `${pct(q.busyShare)} / ${pct(b.busyShare)}`, `${pct(q.otherShare)} / ${pct(b.otherShare)}`];
    })),
    '',
    problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No cache hit, no error, no URL pool exhausted.',
    '',
    `**Reading.** A ${CLIP_SECONDS} s 720p clip was playable — master, first variant and first segment answering 200 — ${fmt(playableS, 1)} s after its first request (median of ${r.playable.length}), about ${fmt(playableS / CLIP_SECONDS, 2)} s per second of video: the whole ladder (${r.playable[0]!.renditions.join(', ')}) is encoded in one ffmpeg pass before anything is served, so the time is the encode's, and the playlist and segment requests after it add ${fmt(median(r.playable.map((p) => p.segmentMs - p.masterMs)), 0)} ms. ` +
      `While a clip encoded, Pictor did ${fmt(ratio.median, 2)}× the cold renders per second of the window before it (median of the rounds' ratios; target 0.7×: ${ratioPass ? 'met' : 'missed'}), medians ${fmt(median(r.busy.map((w) => w.rate)))} and ${fmt(median(r.quiet.map((w) => w.rate)))} renders/s. ` +
      `ffmpeg runs at the lowest CPU priority, so while renders keep the cores busy it gets what they leave: ${fmt(ffmpegCpu, 1)} CPU-s in a window of ${WINDOW_SECONDS} s (median), ${pct(ffmpegCpu / (cpus().length * WINDOW_SECONDS))} of the machine, while renders/s ${ratio.median < 1 ? `fell by ${pct(1 - ratio.median)}` : 'did not fall'}; Pictor's CPU per render went from ${fmt(median(r.quiet.map(cpuPerRender)), 0)} to ${fmt(median(r.busy.map(cpuPerRender)), 0)} ms (caches and memory bandwidth shared with the encoder). ` +
      `The encode, started just before the window, ended ${fmt(busyEncode, 1)} s after its first request (median; renders ran only for the first ${WINDOW_SECONDS} s of it) against ${fmt(quietEncode, 1)} s with no renders beside it (part 1). ` +
      (minCoverage < 0.95 ? `In some rounds ffmpeg ended before the window did (ffmpeg running ${pct(minCoverage)} of it at least): that part of the window had no video work. ` : '') +
      (maxOther > 0.1
        ? `Other processes used up to ${pct(maxOther)} of the machine in some windows (last column): a round's two windows are comparable only when that share is alike in both, so the cross-check divides each rate by the share other work left, which gives ${fmt(adjusted.median, 2)}×. `
        : ''),
    '',
    '```sh',
    r.command,
    '```',
  ].join('\n');
}

await runToTheEnd(
  'bench:video',
  async () => {
    try {
      await main();
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
  () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  },
);
