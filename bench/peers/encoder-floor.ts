/**
 * The encoders' own CPU for a list of outputs: each output's pixels are made first (decode and resize, not
 * measured), then only its encode is timed, with Pictor's encoder settings (progressive JPEG with 4:2:0
 * chroma, WebP at sharp's defaults, AVIF at Pictor's effort). No server does less than this for the same
 * output bytes: it is the floor a render's CPU is compared with.
 * `node --import tsx bench/peers/encoder-floor.ts <master> <jobs.json> <count> <avifEffort>`; prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';

interface Job {
  w: number;
  fm: 'jpeg' | 'webp' | 'avif';
  q: number;
}

const [master, jobsFile, countArg, effortArg] = process.argv.slice(2);
if (!master || !jobsFile) throw new Error('usage: encoder-floor.ts <master> <jobs.json> <count> <avifEffort>');
const jobs = (JSON.parse(readFileSync(jobsFile, 'utf8')) as Job[]).slice(0, Number(countArg ?? 60));
const effort = Number(effortArg ?? 1);
const cpuMs: Record<string, number[]> = {};
for (const job of jobs) {
  const { data, info } = await sharp(master).resize(job.w).raw().toBuffer({ resolveWithObject: true });
  const pixels = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const options = job.fm === 'avif' ? { quality: job.q, effort } : job.fm === 'jpeg' ? { quality: job.q, progressive: true, chromaSubsampling: '4:2:0' } : { quality: job.q };
  const before = process.cpuUsage();
  await pixels.toFormat(job.fm, options).toBuffer();
  const used = process.cpuUsage(before);
  (cpuMs[job.fm] ??= []).push((used.user + used.system) / 1000);
}
const all = Object.values(cpuMs).flat();
const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
const perFormat = Object.fromEntries(Object.entries(cpuMs).map(([fm, values]) => [fm, mean(values)]));
process.stdout.write(`${JSON.stringify({ encodes: all.length, meanMs: mean(all), perFormat })}\n`);
