/**
 * Animation bench: renders per second of a 20-frame GIF resize (in this process, render() directly), and
 * the peak resident memory of a process that renders a large animated GIF (100 frames of 800×600), both ways
 * an animation is rendered (animation/render.ts): a plain resize (one native pipeline) and a resize with a
 * watermark (every frame through the steps).
 *
 * `node --import tsx bench/animation.ts` prints the figures; `benchAnimation()` returns them; bench/rendering.ts
 * measures the same cases beside the other rendering families.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parseParams } from '../src/render/params.ts';
import { render } from '../src/render/pipeline.ts';
import { configureSharp } from '../src/render/runtime.ts';
import { RENDER_OPTIONS, rendersPerSecond } from './lib/renders.ts';
import { SERVE_NODE_OPTIONS, serveEnvironment } from './lib/pictor.ts';

/** The 20-frame GIF of the renders-per-second figure, and the query rendered on it. */
export const SMALL_GIF = { frames: 20, width: 320, height: 240, query: 'w=160' };
/** The large animation of the memory figure. */
export const LARGE_GIF = { frames: 100, width: 800, height: 600 };
/** Both ways an animation is rendered: one native pipeline, and every frame through the steps. */
export const LARGE_GIF_QUERIES = ['w=400', 'w=400&mark=/m.png&fm=webp'];

export interface LargeGifMemory {
  /** Peak RSS (MiB) of a fresh process rendering the large GIF, by query; `idle` is that process before rendering. */
  peakRssMb: Record<string, number>;
  largeGif: { frames: number; width: number; height: number; bytes: number };
}

export interface AnimationBench extends LargeGifMemory {
  /** Renders per second of `w=160` on a 20-frame 320×240 GIF. */
  gifResizePerSecond: number;
}

/** An animation with moving content, so that no frame repeats (encoders merge identical frames). */
export async function movingGif(frames: number, width: number, height: number): Promise<Buffer> {
  const pages: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    const x = Math.round((i / frames) * width);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect width="100%" height="100%" fill="hsl(${(i * 37) % 360},60%,50%)"/>` +
      `<circle cx="${x}" cy="${height / 2}" r="${Math.round(height / 5)}" fill="#fff"/></svg>`;
    pages.push(await sharp(Buffer.from(svg)).png().toBuffer());
  }
  return sharp(pages, { join: { animated: true } }).gif({ delay: Array(frames).fill(40), loop: 0 }).toBuffer();
}

/** In a child set up as a render process is (one libvips thread, no operation cache): render `query` on the file once and report VmHWM before and after (MiB). */
async function child(file: string, query: string): Promise<void> {
  configureSharp(1);
  const hwm = () => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  const input = readFileSync(file);
  const mark = await sharp({ create: { width: 60, height: 60, channels: 4, background: '#fff8' } }).png().toBuffer();
  const idle = hwm();
  const result = await render(input, parseParams(query).params, { ...RENDER_OPTIONS, subImages: { mark } });
  process.stdout.write(JSON.stringify({ idle, peak: hwm(), bytes: result.body.length }) + '\n');
}

/** Peak RSS of a fresh process rendering the large GIF once, for each of LARGE_GIF_QUERIES. */
export async function largeGifMemory(): Promise<LargeGifMemory> {
  const dir = mkdtempSync(join(tmpdir(), 'pictor-anim-'));
  try {
    const file = join(dir, 'large.gif');
    const bytes = await movingGif(LARGE_GIF.frames, LARGE_GIF.width, LARGE_GIF.height);
    writeFileSync(file, bytes);
    const peakRssMb: Record<string, number> = {};
    for (const query of LARGE_GIF_QUERIES) {
      // With the allocators' settings that Pictor's render processes run with (bin/allocator.js).
      const run = spawnSync(process.execPath, [...SERVE_NODE_OPTIONS, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', file, query], { encoding: 'utf8', timeout: 300_000, env: serveEnvironment() });
      if (run.status !== 0) throw new Error(`animation bench child failed (${query}):\n${run.stderr}`);
      const { idle, peak } = JSON.parse(run.stdout) as { idle: number; peak: number };
      peakRssMb.idle = Math.round(idle);
      peakRssMb[query] = Math.round(peak);
    }
    return { peakRssMb, largeGif: { ...LARGE_GIF, bytes: bytes.length } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchAnimation(options: { quick?: boolean } = {}): Promise<AnimationBench> {
  const small = await movingGif(SMALL_GIF.frames, SMALL_GIF.width, SMALL_GIF.height);
  const gifResizePerSecond = await rendersPerSecond(small, SMALL_GIF.query, options.quick ? 1 : 5);
  return { gifResizePerSecond, ...(await largeGifMemory()) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]!, process.argv[4]!);
  } else {
    const result = await benchAnimation({ quick: process.env.BENCH_QUICK === '1' });
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  }
}
