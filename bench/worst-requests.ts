/**
 * `npm run bench:worst`: the most expensive anonymous requests found against Pictor, each measured on a
 * fresh `pictor serve` (built, from dist/) with its defaults: status, time, and the peak resident memory of
 * the server and its render processes together (sampled from /proc every 20 ms). Loopback only; about
 * three minutes; prints a markdown table for BENCHMARKS.md.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { request } from './lib/http.ts';
import { REPO, startPictor, type Pictor } from './lib/pictor.ts';
import { descendantPids, killAll, rssMbOr0, run } from './lib/proc.ts';

interface Case {
  name: string;
  /** Request targets sent at once. */
  targets: string[];
  /** Also time this ordinary render, sent while the others run. */
  ordinary?: string;
}

const FILTER_BOMB =
  '<svg xmlns="http://www.w3.org/2000/svg" width="9990" height="9990"><filter id="f"><feGaussianBlur stdDeviation="40"/></filter>' +
  '<rect width="100%" height="100%" fill="red" filter="url(#f)"/></svg>';

const CASES: Case[] = [
  { name: 'the reported AVIF: 8192² with pad=4000', targets: ['/sunset.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif'] },
  { name: 'six of them, each with another q', targets: [50, 55, 60, 65, 70, 80].map((q) => `/sunset.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif&q=${q}`), ordinary: '/sunset.jpg?w=321' },
  { name: 'the largest AVIF admitted (5000²)', targets: ['/sunset.jpg?w=5000&h=5000&fit=fill&fm=avif'] },
  { name: 'six of those, each with another q', targets: [50, 55, 60, 65, 70, 80].map((q) => `/sunset.jpg?w=5000&h=5000&fit=fill&fm=avif&q=${q}`), ordinary: '/sunset.jpg?w=322' },
  { name: '8192² JPEG rotated 33°', targets: ['/sunset.jpg?w=8192&h=8192&fit=scale&rot=33'] },
  { name: '195-byte SVG declaring 9990² with a blur', targets: ['/bomb.svg'] },
  { name: 'the same SVG at the largest size admitted', targets: ['/bomb.svg?w=5000&fm=png'], ordinary: '/sunset.jpg?w=323' },
  { name: '270-byte JPEG claiming 9999²', targets: ['/claims.jpg'] },
  { name: '64 MP progressive JPEG to a thumbnail', targets: ['/huge-progressive.jpg?w=100'] },
];

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pictor-worst-'));
  const assets = join(root, 'assets');
  try {
    await run('npm', ['run', 'build'], { cwd: REPO });
    await prepareAssets(assets);
    const rows: string[] = [];
    for (const testCase of CASES) {
      const pictor = await startPictor(root, testCase.name.replace(/\W+/g, '-'), assets);
      try {
        rows.push(await measure(pictor, testCase));
      } finally {
        await pictor.stop();
      }
      process.stderr.write(`${rows.at(-1)}\n`);
    }
    const header = '| Request | Status | Time | Peak RSS (server + render processes) | An ordinary render meanwhile |\n|---|---|---|---|---|';
    process.stdout.write(`\n${header}\n${rows.join('\n')}\n`);
  } finally {
    killAll();
    rmSync(root, { recursive: true, force: true });
  }
}

async function measure(pictor: Pictor, testCase: Case): Promise<string> {
  const sampler = sampleTree(pictor.child.pid);
  const started = performance.now();
  const answers = testCase.targets.map((target) => request(`${pictor.renderUrl}${target}`, { timeoutMs: 120_000 }).then((reply) => ({ reply, ms: performance.now() - started })));
  let ordinary = '—';
  if (testCase.ordinary) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = performance.now();
    const reply = await request(`${pictor.renderUrl}${testCase.ordinary}`);
    ordinary = `${reply.status} in ${Math.round(performance.now() - before)} ms`;
  }
  const settled = await Promise.all(answers);
  const peak = sampler.stop();
  const statuses = [...new Set(settled.map(({ reply }) => reply.status))].join(', ');
  const slowest = Math.max(...settled.map(({ ms }) => ms));
  const target = testCase.targets.length === 1 ? `\`${testCase.targets[0]}\`` : `${testCase.targets.length}× \`${testCase.targets[0]}\`…`;
  return `| ${testCase.name}: ${target} | ${statuses} | ${(slowest / 1000).toFixed(1)} s | ${peak} MB | ${ordinary} |`;
}

/** The largest sum of VmRSS over a process and all its descendants, sampled every 20 ms until `stop`. */
function sampleTree(rootPid: number): { stop: () => number } {
  let peak = 0;
  const sample = (): void => {
    let total = 0;
    for (const pid of [rootPid, ...descendantPids(rootPid)]) total += rssMbOr0(pid);
    peak = Math.max(peak, total);
  };
  sample();
  const timer = setInterval(sample, 20);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return Math.round(peak);
    },
  };
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
  const noise = sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } });
  await noise.jpeg({ quality: 70, progressive: true }).toFile(join(dir, 'huge-progressive.jpg'));
}

await main();
