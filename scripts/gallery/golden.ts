/**
 * Golden images for the gallery: a small reviewed thumbnail of every image sample is committed under
 * test/render/golden/, and a later build is compared with it on pixels. Thumbnails absorb encoder noise and
 * keep the references small; the budget below lets through rounding and resampling differences but not a
 * change a person would see (a shifted colour, a moved or missing element, another strength of an effect).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { GalleryEntry } from './build.ts';

export const GOLDEN_DIR = path.resolve('test', 'render', 'golden');
/** Thumbnails fit in this square (the first frame of an animation). */
const THUMBNAIL_SIZE = 96;
/** Budget: mean difference over all channels (0–255) … */
const MEAN_BUDGET = 2.5;
/** … and the share of pixels with some channel off by more than STRONG levels. */
const STRONG = 40;
const STRONG_SHARE_BUDGET = 0.01;

export interface GoldenMismatch {
  file: string;
  url: string;
  reason: string;
}

/** The image samples of a build, with the name of their golden file. */
function imageEntries(entries: readonly GalleryEntry[]): { entry: GalleryEntry; golden: string }[] {
  return entries
    .filter((entry) => entry.status === 200 && entry.contentType.startsWith('image/') && entry.file)
    .map((entry) => ({ entry, golden: `${entry.file.replace(/\.[^.]+$/, '')}.png` }));
}

async function thumbnail(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file, { page: 0 })
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function toPng(image: { data: Buffer; width: number; height: number }): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } }).png().toBuffer();
}

/** Rewrites every reference from a build (`npm run gallery -- --update`); removes references of gone samples. */
export async function updateGolden(outDir: string, entries: readonly GalleryEntry[], goldenDir = GOLDEN_DIR): Promise<number> {
  await fs.rm(goldenDir, { recursive: true, force: true });
  await fs.mkdir(goldenDir, { recursive: true });
  const images = imageEntries(entries);
  for (const { entry, golden } of images) {
    await fs.writeFile(path.join(goldenDir, golden), await toPng(await thumbnail(path.join(outDir, entry.file))));
  }
  return images.length;
}

/**
 * Compares every image sample of a build with its reference. For each mismatch, the thumbnail and a diff
 * (differences amplified four times, on black) are written to `diffDir` for review.
 */
export async function compareWithGolden(outDir: string, entries: readonly GalleryEntry[], diffDir: string, goldenDir = GOLDEN_DIR): Promise<GoldenMismatch[]> {
  const mismatches: GoldenMismatch[] = [];
  for (const { entry, golden } of imageEntries(entries)) {
    const actual = await thumbnail(path.join(outDir, entry.file));
    const reason = await difference(actual, path.join(goldenDir, golden), path.join(diffDir, golden));
    if (reason) mismatches.push({ file: golden, url: entry.url, reason });
  }
  return mismatches;
}

async function difference(actual: { data: Buffer; width: number; height: number }, goldenFile: string, diffFile: string): Promise<string | undefined> {
  let expected;
  try {
    expected = await thumbnail(goldenFile);
  } catch {
    return 'no reference (run npm run gallery -- --update and review it)';
  }
  let reason: string | undefined;
  if (expected.width !== actual.width || expected.height !== actual.height) {
    reason = `thumbnail ${actual.width}×${actual.height}, reference ${expected.width}×${expected.height}`;
  } else {
    const { mean, strongShare, diff } = pixelDifference(actual.data, expected.data);
    if (mean > MEAN_BUDGET || strongShare > STRONG_SHARE_BUDGET) {
      reason = `mean difference ${mean.toFixed(2)} (budget ${MEAN_BUDGET}), ${(strongShare * 100).toFixed(1)} % of pixels far off`;
      await writeDiff(diffFile, { data: diff, width: actual.width, height: actual.height });
    }
  }
  if (reason) await writeDiff(diffFile.replace(/\.png$/, '.actual.png'), actual);
  return reason;
}

/** Mean absolute difference per channel, the share of strongly different pixels, and an amplified diff image. */
export function pixelDifference(a: Buffer, b: Buffer): { mean: number; strongShare: number; diff: Buffer } {
  const diff = Buffer.alloc(a.length);
  let total = 0;
  let strong = 0;
  for (let i = 0; i < a.length; i += 4) {
    let worst = 0;
    for (let c = 0; c < 4; c++) {
      const d = Math.abs(a[i + c]! - b[i + c]!);
      total += d;
      worst = Math.max(worst, d);
      diff[i + c] = c === 3 ? 255 : Math.min(255, d * 4);
    }
    if (worst > STRONG) strong++;
  }
  return { mean: total / a.length, strongShare: strong / (a.length / 4), diff };
}

async function writeDiff(file: string, image: { data: Buffer; width: number; height: number }): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, await toPng(image));
}
