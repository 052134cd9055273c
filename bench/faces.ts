/**
 * Face detection: accuracy and cost, in process (the renderer as the server calls it, no HTTP).
 *
 * Accuracy on face-api's demo photos (`@vladmandic/face-api/demo/sample1..6.jpg`, a dev dependency: 22 faces
 * in all, 3,3,3,4,5,4) and on images without faces made here (flat shapes, a gradient, noise, a photographic
 * JPEG from bench/lib/images.ts): faces found / missed / false positives, counted per photo against the known
 * number of faces (the boxes were checked by eye once; the unit tests check positions).
 *
 * Cost on each photo scaled to 1200 px wide: the median over rounds of `fm=json&faces=1` (decode to 256 px,
 * inference, decoding the boxes), and the ratio of a `fit=facearea&w=300&h=300` render to a plain
 * `fit=crop&w=300&h=300` one, measured interleaved. Prints a markdown section; writes nothing.
 * BENCH_QUICK=1 runs fewer rounds. Run: `node --import tsx bench/faces.ts`; bench/rendering.ts calls
 * `benchFaces()` and reports it beside the other rendering families.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseParams } from '../src/render/params.ts';
import { render } from '../src/render/pipeline.ts';
import { photoJpeg } from './lib/images.ts';
import { RENDER_OPTIONS, timedRender as timed } from './lib/renders.ts';
import { median } from './lib/stats.ts';

const EXPECTED = [3, 3, 3, 4, 5, 4];
const DEMO = join(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'), '../demo');

export const FACES_TITLE = 'Face detection (BlazeFace 256, onnxruntime-node CPU, one thread)';

export interface FacesBench {
  found: number;
  missed: number;
  falsePositives: number;
  /** Median over the photos of each photo's median `fm=json&faces=1` time at 1200 px. */
  detectMs: number;
  /** Median over the photos of a facearea render's time ÷ a plain crop's. */
  faceareaOverCrop: number;
  /** The markdown section, without its heading. */
  lines: string[];
}

/** face-api's demo photo `n` (1–6), scaled to 1200 px wide as every figure here uses it. */
export async function demoPhoto(n: number): Promise<Buffer> {
  return sharp(readFileSync(join(DEMO, `sample${n}.jpg`))).resize(1200).jpeg({ quality: 90 }).toBuffer();
}

async function faces(input: Buffer): Promise<number> {
  const result = await render(input, parseParams('fm=json&faces=1').params, RENDER_OPTIONS);
  return (JSON.parse(result.body.toString()) as { Faces: unknown[] }).Faces.length;
}

async function nonFaceImages(): Promise<[string, Buffer][]> {
  const shapes = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800"><rect width="1200" height="800" fill="#d8d2c4"/>
    <circle cx="300" cy="300" r="180" fill="#e0b090"/><rect x="650" y="400" width="380" height="300" fill="#3060a0"/>
    <polygon points="600,60 820,360 380,360" fill="#40a040"/></svg>`);
  const noise = Buffer.alloc(1200 * 800 * 3);
  for (let i = 0, seed = 7; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = seed >> 23;
  }
  const gradient = Buffer.alloc(1200 * 800 * 3);
  for (let i = 0; i < gradient.length; i += 3) gradient[i] = gradient[i + 1] = Math.floor(((i / 3) % 1200) / 4.7);
  const photoFile = join(tmpdir(), `pictor-faces-photo-${process.pid}.jpg`);
  await photoJpeg(photoFile, 1200, 800);
  const photo = readFileSync(photoFile);
  rmSync(photoFile);
  return [
    ['flat shapes', await sharp(shapes).jpeg().toBuffer()],
    ['noise', await sharp(noise, { raw: { width: 1200, height: 800, channels: 3 } }).png().toBuffer()],
    ['gradient', await sharp(gradient, { raw: { width: 1200, height: 800, channels: 3 } }).jpeg().toBuffer()],
    ['photographic texture', photo],
  ];
}

export async function benchFaces(rounds: number): Promise<FacesBench> {
  const rows: string[] = [];
  let found = 0;
  let missed = 0;
  let spurious = 0;
  const detectMs: number[] = [];
  const ratios: number[] = [];
  await faces(readFileSync(join(DEMO, 'sample1.jpg'))); // loads the model: not part of any figure
  for (let n = 1; n <= 6; n++) {
    const input = await demoPhoto(n);
    const count = await faces(input);
    const expected = EXPECTED[n - 1]!;
    found += Math.min(count, expected);
    missed += Math.max(0, expected - count);
    spurious += Math.max(0, count - expected);
    const times: number[] = [];
    const roundRatios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      times.push(await timed(input, 'fm=json&faces=1'));
      const area = await timed(input, 'fit=facearea&w=300&h=300');
      const crop = await timed(input, 'fit=crop&w=300&h=300');
      roundRatios.push(area / crop);
    }
    detectMs.push(median(times));
    ratios.push(median(roundRatios));
    rows.push(`| sample${n}.jpg (1200 px) | ${expected} | ${count} | ${median(times).toFixed(1)} | ${median(roundRatios).toFixed(2)}× |`);
  }
  for (const [name, input] of await nonFaceImages()) {
    const count = await faces(input);
    spurious += count;
    rows.push(`| ${name} (1200×800) | 0 | ${count} | | |`);
  }
  const lines = [
    `Faces found ${found} / ${found + missed}, missed ${missed}, false positives ${spurious} (on the 6 photos and 4 images without faces).`,
    `Detection per 1200 px image, median: ${median(detectMs).toFixed(1)} ms; a fit=facearea render costs ${median(ratios).toFixed(2)}× a plain fit=crop render of the same size.`,
    '',
    '| image | faces | found | fm=json&faces=1, ms (median) | facearea ÷ crop |',
    '|---|---|---|---|---|',
    ...rows,
  ];
  return { found, missed, falsePositives: spurious, detectMs: median(detectMs), faceareaOverCrop: median(ratios), lines };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { lines } = await benchFaces(process.env.BENCH_QUICK === '1' ? 3 : 11);
  console.log([`## ${FACES_TITLE}`, '', ...lines].join('\n'));
}
