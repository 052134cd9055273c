/**
 * `npm run bench:worst`: the most expensive anonymous requests found against Pictor, each measured on a
 * fresh `pictor serve` (built, started as `npm start` does) with its defaults. For each: the status, the
 * time to the last answer, and the peak resident memory of the process tree (the server and every render
 * process it started), as two figures: the sum of each process's own peak (VmHWM, read from /proc every
 * 20 ms and once more before it ends: an upper bound, since the peaks need not coincide) and the highest sum
 * of their resident memory at one sampling instant. The idle cases also read the tree's resident memory a
 * few seconds after the answer. A request passes when it is answered within 1 GB and 10 s, or refused with
 * `413` (several sent at once queue behind one another: for them only the memory bound applies). Loopback
 * only; about five minutes; prints a markdown table for BENCHMARKS.md.
 *
 * `npm run bench:worst -- <words>` runs only the cases whose name contains one of the words.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { buildPdf } from '../test/render/pdf-fixtures.ts';
import { request } from './lib/http.ts';
import { REPO, startPictor, type Pictor } from './lib/pictor.ts';
import { descendantPids, killAll, procMemoryMb, run, sleep } from './lib/proc.ts';

interface Case {
  name: string;
  /** Request targets sent at once. */
  targets: string[];
  /** Also time this ordinary render, sent while the others run. */
  ordinary?: string;
  /** Read the tree's resident memory this long after the answers. */
  idleMs?: number;
}

const FILTER_BOMB =
  '<svg xmlns="http://www.w3.org/2000/svg" width="9990" height="9990"><filter id="f"><feGaussianBlur stdDeviation="40"/></filter>' +
  '<rect width="100%" height="100%" fill="red" filter="url(#f)"/></svg>';

const LIMIT_MB = 1024;
const LIMIT_SECONDS = 10;
const TEXT = encodeURIComponent('The quick brown fox jumps over a');
const BLOCKS = encodeURIComponent('████');
const QUALITIES = [50, 55, 60, 65, 70, 80];

const CASES: Case[] = [
  { name: 'the reported AVIF: 8192² with pad=4000', targets: ['/sunset.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif'] },
  {
    name: 'six of them, each with another q',
    targets: QUALITIES.map((q) => `/sunset.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif&q=${q}`),
    ordinary: '/sunset.jpg?w=321',
  },
  { name: 'the largest AVIF admitted (3600²)', targets: ['/sunset.jpg?w=3600&h=3600&fit=fill&fm=avif'] },
  {
    name: 'six of those, each with another q',
    targets: QUALITIES.map((q) => `/sunset.jpg?w=3600&h=3600&fit=fill&fm=avif&q=${q}`),
    ordinary: '/sunset.jpg?w=322',
  },
  { name: 'the same AVIF at 4000² (over 10 s of encoding)', targets: ['/sunset.jpg?w=4000&h=4000&fit=fill&fm=avif'] },
  { name: 'grain to AVIF at the largest size admitted', targets: ['/huge-progressive.jpg?w=3600&fm=avif'] },
  { name: 'grain to PNG8 at a million pixels (the full palette effort)', targets: ['/huge-progressive.jpg?w=1000&fm=png8'] },
  { name: 'grain to GIF at 4000² (the low palette effort)', targets: ['/huge-progressive.jpg?w=4000&fm=gif'] },
  { name: 'grain to GIF at 8000²', targets: ['/huge-progressive.jpg?w=8000&fm=gif'] },
  { name: 'grain to WebP at 8000²', targets: ['/huge-progressive.jpg?w=8000&fm=webp'] },
  { name: '8192² JPEG rotated 33°', targets: ['/sunset.jpg?w=8192&h=8192&fit=scale&rot=33'] },
  { name: '195-byte SVG declaring 9990² with a blur', targets: ['/bomb.svg'] },
  { name: 'the same SVG at 5000 px', targets: ['/bomb.svg?w=5000&fm=png'] },
  { name: 'the same SVG at the largest size admitted', targets: ['/bomb.svg?w=2880&fm=png'], ordinary: '/sunset.jpg?w=323' },
  { name: '270-byte JPEG claiming 9999²', targets: ['/claims.jpg'] },
  { name: '64 MP progressive JPEG to a thumbnail', targets: ['/huge-progressive.jpg?w=100'] },
  {
    name: 'sub-images: an ellipse mask, a 10k² RGBA blend and a 7k² 16-bit mark over 8192²',
    targets: ['/sunset.jpg?w=8192&h=8192&fit=fill&mask=ellipse&blend=/blend-10k.png&blend-mode=multiply&mark=/mark-7k-16.png&mark-w=8192&fm=png'],
  },
  {
    name: 'sub-images: the same layers over 5600² (admitted)',
    targets: ['/sunset.jpg?w=5600&h=5600&fit=fill&mask=ellipse&blend=/blend-10k.png&blend-mode=multiply&mark=/mark-7k-16.png&mark-w=5600&fm=png'],
  },
  {
    name: 'sub-images: a 10k² base, an 8192² blend and a tiled 8192² mark',
    targets: ['/base-10k.png?blend=/blend-8k.png&mark=/mark-8k.png&mark-tile=grid'],
  },
  {
    name: 'text: 32 characters at txt-size=100000 with txt-shad=1000 over 8192²',
    targets: [`/sunset.jpg?w=8192&h=8192&txt=${TEXT}&txt-size=100000&txt-shad=1000&fm=png`],
  },
  {
    name: 'text: four full blocks over 8192² with a 100 px outline and a shadow',
    targets: [`/sunset.jpg?w=8192&h=8192&fit=fill&txt=${BLOCKS}&txt-size=100000&txt-line=100&txt-shad=10&fm=png`],
  },
  { name: 'PDF: page 19999 of 20,000 at w=8192', targets: ['/pages-20000.pdf?page=19999&w=8192'] },
  { name: 'PDF: page 9999 of 10,000 (the page limit) at w=8192', targets: ['/pages-10000.pdf?page=9999&w=8192'] },
  { name: 'PDF: 60,000 pages in one flat page tree', targets: ['/pages-60000.pdf?w=800'] },
  {
    name: 'idle: the tree 5 s after a large sub-images render',
    targets: ['/base-10k.png?blend=/blend-8k.png&mark=/mark-8k.png&mark-tile=grid&w=5000'],
    idleMs: 5_000,
  },
];

async function main(): Promise<void> {
  const words = process.argv.slice(2);
  const cases = words.length === 0 ? CASES : CASES.filter((c) => words.some((word) => c.name.includes(word)));
  const root = mkdtempSync(join(tmpdir(), 'pictor-worst-'));
  const assets = join(root, 'assets');
  try {
    await run('npm', ['run', 'build'], { cwd: REPO });
    await prepareAssets(assets);
    const rows: string[] = [];
    for (const testCase of cases) {
      const pictor = await startPictor(root, testCase.name.replace(/\W+/g, '-'), assets, { entry: 'bin/pictor.js' });
      try {
        rows.push(await measure(pictor, testCase));
      } finally {
        await pictor.stop();
      }
      process.stderr.write(`${rows.at(-1)}\n`);
    }
    const columns = ['Request', 'Status', 'Time', 'Tree peak: Σ VmHWM', 'Tree peak: sampled', 'Idle tree after', 'Within 1 GB and 10 s, or 413'];
    columns.push('An ordinary render meanwhile');
    const header = `| ${columns.join(' | ')} |\n|${columns.map(() => '---|').join('')}`;
    process.stdout.write(`\n${header}\n${rows.join('\n')}\n`);
  } finally {
    killAll();
    rmSync(root, { recursive: true, force: true });
  }
}

async function measure(pictor: Pictor, testCase: Case): Promise<string> {
  const sampler = sampleTree(pictor.serverPid);
  const started = performance.now();
  const answers = testCase.targets.map((target) =>
    request(`${pictor.renderUrl}${target}`, { timeoutMs: 120_000 }).then((reply) => ({ reply, ms: performance.now() - started })));
  let ordinary = '—';
  if (testCase.ordinary) {
    await sleep(200);
    const before = performance.now();
    const reply = await request(`${pictor.renderUrl}${testCase.ordinary}`);
    ordinary = `${reply.status} in ${Math.round(performance.now() - before)} ms`;
  }
  const settled = await Promise.all(answers);
  const peak = sampler.stop();
  let idle = '—';
  if (testCase.idleMs) {
    await sleep(testCase.idleMs);
    const pids = [pictor.serverPid, ...descendantPids(pictor.serverPid)];
    idle = `${Math.round(pids.reduce((sum, pid) => sum + memoryOr0(pid, 'VmRSS'), 0))} MB (${pids.length - 1} render processes)`;
  }
  const statuses = [...new Set(settled.map(({ reply }) => reply.status))];
  const slowest = Math.max(...settled.map(({ ms }) => ms));
  const target = testCase.targets.length === 1 ? `\`${testCase.targets[0]}\`` : `${testCase.targets.length}× \`${testCase.targets[0]}\`…`;
  const refused = settled.find(({ reply }) => reply.status === 413);
  const status = `${statuses.join(', ')}${refused ? ` (${firstSentence(refused.reply.body)})` : ''}`;
  const passes = verdict(testCase, statuses, slowest, peak.summed) ? 'yes' : '**no**';
  const time = `${(slowest / 1000).toFixed(1)} s`;
  const cells = [`${testCase.name}: ${target}`, status, time, `${peak.summed} MB`, `${peak.sampled} MB`, idle, passes, ordinary];
  return `| ${cells.join(' | ')} |`;
}

/** Answered within 1 GB for the tree and within 10 s, or refused with 413 (several sent at once may be shed with 503). */
function verdict(testCase: Case, statuses: number[], slowestMs: number, peakMb: number): boolean {
  if (statuses.every((status) => status === 413)) return true;
  const several = testCase.targets.length > 1;
  const answered = statuses.every((status) => status === 200 || (several && status === 503));
  // Several at once queue in the heavy lane behind one another: for them only the memory bound applies.
  return answered && peakMb <= LIMIT_MB && (several || slowestMs <= LIMIT_SECONDS * 1000);
}

/**
 * The tree's peak, two ways: every process's VmHWM (kept per pid, so a render process that ends still
 * counts with its last reading), summed; and the largest sum of VmRSS at one sampling instant.
 */
function sampleTree(rootPid: number): { stop: () => { summed: number; sampled: number } } {
  const peaks = new Map<number, number>();
  let sampled = 0;
  const sample = (): void => {
    let total = 0;
    for (const pid of [rootPid, ...descendantPids(rootPid)]) {
      total += memoryOr0(pid, 'VmRSS');
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, memoryOr0(pid, 'VmHWM')));
    }
    sampled = Math.max(sampled, total);
  };
  sample();
  const timer = setInterval(sample, 20);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { summed: Math.round([...peaks.values()].reduce((sum, mb) => sum + mb, 0)), sampled: Math.round(sampled) };
    },
  };
}

function memoryOr0(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    return procMemoryMb(pid, field);
  } catch {
    return 0; // ended meanwhile
  }
}

/** The refusal's first sentence: what was estimated and the limit. */
function firstSentence(body: Buffer): string {
  return body.toString().split(/[;\n]/, 1)[0]!.slice(0, 200).replace(/\|/g, '\\|');
}

async function prepareAssets(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(REPO, 'assets', 'sunset.jpg'), join(dir, 'sunset.jpg'));
  writeFileSync(join(dir, 'bomb.svg'), FILTER_BOMB);
  // A real 16×16 JPEG whose header is rewritten to claim 9999×9999 pixels.
  const claims = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c33' } }).jpeg().toBuffer());
  for (let i = 0; i < claims.length - 9; i++) {
    if (claims[i] === 0xff && (claims[i + 1] === 0xc0 || claims[i + 1] === 0xc2)) {
      claims.writeUInt16BE(9999, i + 5);
      claims.writeUInt16BE(9999, i + 7);
      break;
    }
  }
  writeFileSync(join(dir, 'claims.jpg'), claims);
  const grain = { type: 'gaussian' as const, mean: 128, sigma: 30 };
  const noise = sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#808080', noise: grain } });
  await noise.jpeg({ quality: 70, progressive: true }).toFile(join(dir, 'huge-progressive.jpg'));
  // Large sub-images that stay small files (blocks of one colour), so that they pass --max-input-bytes.
  await blocks(10_000, 4).png().toFile(join(dir, 'blend-10k.png'));
  await blocks(7000, 4).toColourspace('rgb16').png().toFile(join(dir, 'mark-7k-16.png'));
  await blocks(10_000, 3).png().toFile(join(dir, 'base-10k.png'));
  await blocks(8192, 4).png().toFile(join(dir, 'blend-8k.png'));
  await blocks(8192, 4).png().toFile(join(dir, 'mark-8k.png'));
  for (const pages of [10_000, 20_000, 60_000]) {
    const spec = Array.from({ length: pages }, (_, i) => ({ width: 800, height: 400, fill: [i % 2, 0.5, 0.2] as const }));
    writeFileSync(join(dir, `pages-${pages}.pdf`), buildPdf(spec));
  }
}

/** A size² image of 64 × 64 blocks of random colours (and alphas). */
function blocks(size: number, channels: 3 | 4): Sharp {
  const noise = { type: 'gaussian' as const, mean: 128, sigma: 60 };
  return sharp({ create: { width: 64, height: 64, channels, background: '#808080', noise } }).resize(size, size, { kernel: 'nearest' });
}

await main();
