/**
 * The naive baseline: read and decode the master for every output, `sharp(file).resize(w).toFormat(fm)`,
 * `concurrency` at a time, for `seconds`. Runs in its own process (not on the bench's event loop):
 * `node --import tsx bench/peers/naive-loop.ts <master> <jobs.json> <seconds> <concurrency> <avifEffort>`.
 * Like wrk, renders still running at the deadline are not counted. Prints one JSON line, with the CPU time
 * (all threads) used up to the deadline.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';

interface Job {
  w: number;
  fm: 'jpeg' | 'webp' | 'avif';
  q: number;
}

const [master, jobsFile, secondsArg, concurrencyArg, effortArg] = process.argv.slice(2);
if (!master || !jobsFile) throw new Error('usage: naive-loop.ts <master> <jobs.json> <seconds> <concurrency> <avifEffort>');
const jobs = JSON.parse(readFileSync(jobsFile, 'utf8')) as Job[];
const seconds = Number(secondsArg ?? 10);
const effort = Number(effortArg ?? 4);
const started = performance.now();
const deadline = started + seconds * 1000;
let next = 0;
let renders = 0;
let cpuSeconds = NaN;
// CPU time of this process (all threads) from the start of the loop to the deadline, like a server's over a wrk window.
const cpu0 = process.cpuUsage();
setTimeout(() => {
  const usage = process.cpuUsage(cpu0);
  cpuSeconds = (usage.user + usage.system) / 1e6;
}, seconds * 1000);

async function worker(): Promise<void> {
  while (performance.now() < deadline && next < jobs.length) {
    const job = jobs[next++]!;
    // Pictor's JPEGs are progressive by default (imgix's default), so the loop's are too.
    const options = job.fm === 'avif' ? { quality: job.q, effort } : job.fm === 'jpeg' ? { quality: job.q, progressive: true } : { quality: job.q };
    await sharp(master!).resize(job.w).toFormat(job.fm, options).toBuffer();
    if (performance.now() <= deadline) renders++;
  }
}

await Promise.all(Array.from({ length: Number(concurrencyArg ?? 8) }, worker));
process.stdout.write(`${JSON.stringify({ renders, seconds, cpuSeconds, exhausted: next >= jobs.length })}\n`);
process.exit(0); // renders still running past the deadline are abandoned, as wrk abandons requests
