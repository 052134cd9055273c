/**
 * colorquant=N: exactly N colours in the output (fewer only when the image has fewer).
 *
 * libimagequant (sharp's palette PNG encoder) chooses a good palette quickly, but only of 2, 4, 16 or 256
 * entries (it rounds N up to a power-of-two bit depth). So it is asked for the next size up, and its
 * palette, weighted by how many pixels use each entry, is merged down to N in JS: repeatedly joining the
 * two entries whose merge adds the least squared error (Ward's criterion). The palette has at most 256
 * entries, so the merging is bounded whatever the image size; only the final remapping is per pixel.
 */
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import type { RawImage } from './pixels.ts';

interface Entry {
  /** r, g, b, a sums over the pixels of the entry (means are sums / count). */
  sum: [number, number, number, number];
  count: number;
  /** Index of the entry this one was merged into (−1 while it is live). */
  into: number;
}

/** Runs a sharp pipeline to raw pixels under the render's deadline (PipelineBuilder.exec). */
export type Exec = (image: Sharp) => Promise<{ data: Buffer; info: OutputInfo }>;

/** libimagequant's speed/quality trade-off: a low effort is several times faster, and the palette is merged anyway. */
const PALETTE_EFFORT = 3;

/** Rewrites `image` in place so that it has at most `colors` distinct colours. */
export async function quantize(image: RawImage, colors: number, exec: Exec): Promise<void> {
  const { data, width, height, channels } = image;
  // The PNG is only a carrier for the palette: no compression.
  const { data: png } = await exec(
    sharp(data, { raw: { width, height, channels: channels as 3 | 4 }, limitInputPixels: false })
      .png({ palette: true, colours: colors, dither: 0, effort: PALETTE_EFFORT, compressionLevel: 0 }),
  );
  const decoded = sharp(png, { limitInputPixels: false }).toColourspace('srgb');
  const { data: mapped } = await exec((channels === 4 ? decoded.ensureAlpha() : decoded.removeAlpha()).raw());

  // The palette as libimagequant left it: colour key → entry.
  const keys = new Map<number, number>();
  const entries: Entry[] = [];
  for (let i = 0; i < mapped.length; i += channels) {
    const key = colorKey(mapped, i, channels);
    let index = keys.get(key);
    if (index === undefined) {
      index = entries.length;
      keys.set(key, index);
      entries.push({ sum: [0, 0, 0, 0], count: 0, into: -1 });
    }
    const entry = entries[index]!;
    entry.count++;
    for (let c = 0; c < channels; c++) entry.sum[c]! += mapped[i + c]!;
  }
  if (entries.length > colors) mergeDown(entries, colors);

  // Each original palette colour → the mean colour of the entry it ended up in.
  const finalColor = new Map<number, number[]>();
  for (const [key, index] of keys) {
    let root = index;
    while (entries[root]!.into >= 0) root = entries[root]!.into;
    const { sum, count } = entries[root]!;
    finalColor.set(key, sum.slice(0, channels).map((v) => Math.round(v / count)));
  }
  let lastKey = -1;
  let last: number[] = [];
  for (let i = 0; i < mapped.length; i += channels) {
    const key = colorKey(mapped, i, channels);
    if (key !== lastKey) {
      lastKey = key;
      last = finalColor.get(key)!;
    }
    for (let c = 0; c < channels; c++) data[i + c] = last[c]!;
  }
}

function colorKey(data: Buffer, i: number, channels: number): number {
  const rgb = data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!;
  return channels === 4 ? rgb * 256 + data[i + 3]! : rgb;
}

/** Ward merges until `target` entries are live. */
function mergeDown(entries: Entry[], target: number): void {
  let live = entries.length;
  while (live > target) {
    let best = Infinity;
    let a = -1;
    let b = -1;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.into >= 0) continue;
      for (let j = i + 1; j < entries.length; j++) {
        if (entries[j]!.into >= 0) continue;
        const cost = mergeCost(entries[i]!, entries[j]!);
        if (cost < best) {
          best = cost;
          a = i;
          b = j;
        }
      }
    }
    const kept = entries[a]!;
    const gone = entries[b]!;
    for (let c = 0; c < 4; c++) kept.sum[c]! += gone.sum[c]!;
    kept.count += gone.count;
    gone.into = a;
    live--;
  }
}

/** Increase of the squared error when two entries become one: n₁n₂/(n₁+n₂)·|μ₁−μ₂|². */
function mergeCost(x: Entry, y: Entry): number {
  let distance = 0;
  for (let c = 0; c < 4; c++) {
    const d = x.sum[c]! / x.count - y.sum[c]! / y.count;
    distance += d * d;
  }
  return ((x.count * y.count) / (x.count + y.count)) * distance;
}
