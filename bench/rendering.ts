/**
 * `npm run bench:rendering`: what each rendering family costs, in this process (the render pipeline itself,
 * without HTTP or the render process around it), as the server renders: one libvips thread per render
 * (`configureSharp(1)`), one render at a time.
 *
 * 1. Renders per second of a plain resize (the baseline) and of text, a mask, a 20-frame GIF, face detection
 *    (`fit=facearea`) and a PDF page, interleaved in rounds; each family also as a ratio to the baseline of
 *    the same round (median and spread over rounds). Before timing, each case is rendered once and checked
 *    (the mask's corners are transparent, the GIF keeps its frames, …): a parameter the pipeline ignored would
 *    otherwise be timed as a plain resize.
 * 2. Face detection's accuracy on face-api's demo photos and its cost per image (bench/faces.ts).
 * 3. Peak resident memory of a fresh process rendering a large animated GIF, both ways an animation is
 *    rendered (bench/animation.ts), against the 300 MB bound.
 *
 * It prints a markdown section and writes it into BENCHMARKS.md (the `rendering` block, kept when `npm run
 * bench` regenerates the file). BENCH_QUICK=1 shortens every part to check the instrument and writes nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseParams } from '../src/render/params.ts';
import { render } from '../src/render/pipeline.ts';
import { configureSharp } from '../src/render/runtime.ts';
import { twoPagePdf } from '../test/render/pdf-fixtures.ts';
import { LARGE_GIF, LARGE_GIF_QUERIES, largeGifMemory, movingGif, SMALL_GIF } from './animation.ts';
import { benchFaces, demoPhoto, FACES_TITLE } from './faces.ts';
import { cpuWindow } from './lib/cpu.ts';
import { photoJpeg } from './lib/images.ts';
import { REPO } from './lib/pictor.ts';
import { RENDER_OPTIONS, rendersPerSecond } from './lib/renders.ts';
import { measuredOn, writeSeparateRun } from './lib/report.ts';
import { table } from './lib/scenario.ts';
import { fmt, fmtRatio, fmtSpread, interleave, ratios, spread } from './lib/stats.ts';
import { pdfQuery } from './pdf.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 2 : 5;
/** Seconds of renders per case per round. */
const WINDOW_SECONDS = QUICK ? 0.3 : 2;
const FACE_ROUNDS = QUICK ? 1 : 5;
/** The memory bound a Pictor process is held to (scenario 7), applied to one large animation. */
const MEMORY_LIMIT_MB = 300;
const REPORT = join(REPO, 'BENCHMARKS.md');

interface Case {
  id: string;
  label: string;
  input: Buffer;
  query: string;
  /** The plain resize it is compared with: the same output format (default `baseline`, JPEG). */
  baseline?: string;
  /** The ratio it is held to (renders/s ÷ its baseline's; for an animation, per output frame-pixel). */
  target?: number;
  /** What the output must show for the case to measure what it says; a sentence for the report. */
  check: (output: Buffer, baseline: Buffer) => Promise<string>;
}

async function cases(): Promise<Case[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pictor-bench-rendering-'));
  let photo: Buffer;
  try {
    await photoJpeg(join(dir, 'photo.jpg'), 2000, 1333, 1);
    photo = readFileSync(join(dir, 'photo.jpg'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const size = async (output: Buffer): Promise<string> => {
    const meta = await sharp(output, { pages: -1 }).metadata();
    return `${meta.format} ${meta.width}×${meta.pageHeight ?? meta.height}${(meta.pages ?? 1) > 1 ? `, ${meta.pages} frames` : ''}`;
  };
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`sanity check failed: ${what}`);
  };
  return [
    {
      id: 'baseline', label: 'plain resize (baseline)', input: photo, query: 'w=800',
      check: async (output) => size(output),
    },
    {
      id: 'baseline-webp', label: 'plain resize to WebP (the mask\'s baseline)', input: photo, query: 'w=800&fm=webp',
      check: async (output) => size(output),
    },
    {
      id: 'text', label: 'text', input: photo, query: 'w=800&txt=Pictor%20renders%20text&txt-size=64&txt-color=fff&txt-align=middle,center&txt-shad=5', target: 0.7,
      check: async (output, baseline) => {
        // The text is drawn where the baseline has only the photo: the middle of the two must differ.
        const middle = (image: Buffer) => sharp(image).extract({ left: 200, top: 230, width: 400, height: 70 }).raw().toBuffer();
        const [a, b] = await Promise.all([middle(output), middle(baseline)]);
        const changed = a.reduce((count, value, i) => count + (Math.abs(value - b[i]!) > 40 ? 1 : 0), 0) / a.length;
        expect(changed > 0.02, `txt changed ${fmt(changed * 100, 1)} % of the middle band (the text parameters were ignored?)`);
        return `${await size(output)}; text changed ${fmt(changed * 100, 0)} % of the middle band`;
      },
    },
    {
      id: 'mask', label: 'mask (ellipse)', input: photo, query: 'w=800&mask=ellipse&fm=webp', baseline: 'baseline-webp', target: 0.7,
      check: async (output) => {
        const { data, info } = await sharp(output).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        const alpha = (x: number, y: number): number => data[(y * info.width + x) * info.channels + 3]!;
        const corner = alpha(2, 2);
        const centre = alpha(info.width >> 1, info.height >> 1);
        expect(corner === 0 && centre === 255, `mask=ellipse: alpha ${corner} in the corner, ${centre} in the centre (mask ignored?)`);
        return `${await size(output)}; alpha 0 in the corners, 255 in the centre`;
      },
    },
    {
      id: 'gif', label: `${SMALL_GIF.frames}-frame GIF resize`, input: await movingGif(SMALL_GIF.frames, SMALL_GIF.width, SMALL_GIF.height), query: SMALL_GIF.query, target: 0.6,
      check: async (output) => {
        const { pages } = await sharp(output).metadata();
        expect(pages === SMALL_GIF.frames, `the GIF came out with ${pages} frames, not ${SMALL_GIF.frames}`);
        return size(output);
      },
    },
    {
      id: 'faces', label: 'face detection (fit=facearea)', input: await demoPhoto(1), query: 'fit=facearea&w=300&h=300',
      check: async (output) => {
        const detected = await render(await demoPhoto(1), parseParams('fm=json&faces=1').params, RENDER_OPTIONS);
        const faces = (JSON.parse(detected.body.toString()) as { Faces: unknown[] }).Faces.length;
        expect(faces > 0, 'no face found in sample1.jpg: fit=facearea would fall back to a plain crop');
        return `${await size(output)}; ${faces} faces found in the photo`;
      },
    },
    {
      id: 'pdf', label: 'PDF page', input: twoPagePdf(), query: pdfQuery(),
      check: async (output) => {
        const { format, width } = await sharp(output).metadata();
        expect(format === 'jpeg' && width === 800, `the PDF page came out as ${format} ${width} px wide`);
        return size(output);
      },
    },
  ];
}

const INPUTS: Record<string, string> = {
  baseline: '2000×1333 photographic JPEG',
  'baseline-webp': 'the same JPEG',
  text: 'the same JPEG',
  mask: 'the same JPEG',
  gif: `${SMALL_GIF.width}×${SMALL_GIF.height} GIF, every frame different`,
  faces: 'face-api demo photo sample1.jpg at 1200 px (3 faces)',
  pdf: 'two-page PDF from the test fixtures, page 2',
};

async function main(): Promise<void> {
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`[bench:rendering ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const measured = measuredOn();
  configureSharp(1);
  const whole = cpuWindow();

  log('making the inputs and checking each case once…');
  const all = await cases();
  const outputs = new Map<string, Buffer>();
  for (const c of all) outputs.set(c.id, (await render(c.input, parseParams(c.query).params, RENDER_OPTIONS)).body);
  const checks = new Map<string, string>();
  for (const c of all) checks.set(c.id, await c.check(outputs.get(c.id)!, outputs.get('baseline')!));

  log(`part 1: renders/s, ${ROUNDS} rounds of ${WINDOW_SECONDS} s per case…`);
  const byId = new Map(all.map((c) => [c.id, c]));
  const rates = await interleave(ROUNDS, all.map((c) => c.id), (id) => {
    const c = byId.get(id)!;
    return rendersPerSecond(c.input, c.query, WINDOW_SECONDS);
  });
  // Per output pixel, frames counted: an animation's renders/s is weighed by all the pixels it makes.
  const pixels = new Map<string, number>();
  for (const c of all) {
    const meta = await sharp(outputs.get(c.id)!, { pages: -1 }).metadata();
    pixels.set(c.id, meta.width * meta.height);
  }
  const baselineOf = (c: Case): string => c.baseline ?? 'baseline';
  const perPixel = (id: string): number[] => rates[id]!.map((rate) => rate * pixels.get(id)!);
  const ratioOf = (id: string) => {
    const c = byId.get(id)!;
    return id === 'gif' ? spread(ratios(perPixel(id), perPixel(baselineOf(c)))) : spread(ratios(rates[id]!, rates[baselineOf(c)]!));
  };
  const meets = (c: Case): boolean => c.target === undefined || ratioOf(c.id).median >= c.target;
  const part1 = whole.end();

  log(`part 2: face detection, ${FACE_ROUNDS} round(s) per photo…`);
  const faces = await benchFaces(FACE_ROUNDS);

  log(`part 3: peak RSS of a ${LARGE_GIF.frames}-frame ${LARGE_GIF.width}×${LARGE_GIF.height} GIF, ${LARGE_GIF_QUERIES.length} fresh processes…`);
  const memory = await largeGifMemory();
  const peaks = LARGE_GIF_QUERIES.map((query) => memory.peakRssMb[query]!);
  const memoryPass = peaks.every((peak) => peak <= MEMORY_LIMIT_MB);

  const run = whole.end();
  const seconds = (performance.now() - started) / 1000;
  const verdict = (pass: boolean): string => (pass ? '**PASS**' : '**MISS**');
  const families = all.filter((c) => !c.id.startsWith('baseline'));
  const report = [
    `**One run of \`npm run bench:rendering\`** (\`bench/rendering.ts\`), in process: \`render()\` called directly, one render at a time on one libvips thread, as a render process of the server runs it; ${(seconds / 60).toFixed(1)} min. ` +
      `Processes the bench did not start used ${fmt(run.otherShare * 100, 0)} % of the machine during the run${run.topOthers ? ` (largest: ${run.topOthers})` : ''}.${QUICK ? ' **BENCH_QUICK=1: short windows; these numbers check the instrument, they do not measure Pictor.**' : ''}`,
    '',
    table(['Measure', 'Result', 'Target', ''], [
      ...families.map((c) => [
        `${c.label}: ${c.id === 'gif' ? 'output frame-pixels/s' : 'renders/s'} ÷ ${byId.get(baselineOf(c))!.label.replace(/ \(.*\)$/, '')}'s (per round)`,
        fmtRatio(ratioOf(c.id)),
        c.target === undefined ? 'informational' : `≥ ${c.target}×`,
        c.target === undefined ? '—' : verdict(meets(c)),
      ]),
      [`faces found / missed / false positives (face-api demo photos and 4 images without faces)`, `${faces.found} / ${faces.missed} / ${faces.falsePositives}`, 'informational', '—'],
      ...LARGE_GIF_QUERIES.map((query, i) => [`peak RSS rendering the ${LARGE_GIF.frames}-frame GIF, \`${query}\``, `${peaks[i]} MB`, `≤ ${MEMORY_LIMIT_MB} MB`, verdict(peaks[i]! <= MEMORY_LIMIT_MB)]),
    ]),
    '',
    '### 1. Renders per second by family',
    '',
    `${ROUNDS} rounds; in each, every case renders sequentially for ${WINDOW_SECONDS} s in the order of the table, after one unmeasured render the first time (fonts, the face model and pdf.js load once per process). The ratio is taken per round against a plain resize to the same output format in the same round: the mask encodes WebP to keep its transparency, so its baseline is a resize to WebP; the others encode JPEG (the GIF stays a GIF, and is compared per output pixel, every frame counted, with the JPEG resize). Processes the bench did not start used ${fmt(part1.otherShare * 100, 0)} % of the machine meanwhile. Each case was rendered once first and its output checked (last column).`,
    '',
    table(['Case', 'Input', 'Query', 'renders/s, median (min–max)', '÷ baseline, median (min–max)', 'checked'], all.map((c) => [
      c.label,
      INPUTS[c.id]!,
      `\`${c.query}\``,
      fmtSpread(spread(rates[c.id]!)),
      c.id.startsWith('baseline') ? '1' : fmtRatio(ratioOf(c.id)),
      checks.get(c.id)!,
    ])),
    '',
    `### 2. ${FACES_TITLE}`,
    '',
    ...faces.lines,
    '',
    `### 3. Memory of a large animated GIF`,
    '',
    `A ${LARGE_GIF.frames}-frame ${LARGE_GIF.width}×${LARGE_GIF.height} GIF (${fmt(memory.largeGif.bytes / 1e6, 1)} MB, every frame different), rendered once in a fresh process for each query: a plain resize (one native pipeline for every frame) and a resize with a watermark and a WebP output (every frame through the steps, a batch at a time), with the allocators' settings Pictor's render processes run with (\`MALLOC_MMAP_THRESHOLD_=1048576\`, \`--max-semi-space-size=8\`, bin/allocator.js). VmHWM from \`/proc/self/status\`; ${memory.peakRssMb.idle} MB before rendering.`,
    '',
    table(['Query', 'peak RSS (VmHWM), MB', `≤ ${MEMORY_LIMIT_MB} MB`], LARGE_GIF_QUERIES.map((query, i) => [`\`${query}\``, String(peaks[i]), verdict(peaks[i]! <= MEMORY_LIMIT_MB)])),
  ].join('\n');

  process.stdout.write(`${report}\n`);
  if (QUICK) log('BENCH_QUICK=1: BENCHMARKS.md left as it was');
  else {
    const ratioList = families.map((c) => `${c.label.replace(/ \(.*\)$/, '')} ${fmt(ratioOf(c.id).median, 2)}×`).join(', ');
    writeSeparateRun(REPORT, 'rendering', report, measured, {
      families: {
        value: `${ratioList} the renders/s of a plain resize (${fmt(spread(rates.baseline!).median)}/s); a ${LARGE_GIF.frames}-frame GIF peaks at ${Math.max(...peaks)} MB`,
        against: `peak ≤ ${MEMORY_LIMIT_MB} MB: ${memoryPass ? 'met' : 'missed'}`,
      },
    });
    log('written to BENCHMARKS.md (the rendering section)');
  }
  log(`total ${seconds.toFixed(0)} s`);
}

await main();
