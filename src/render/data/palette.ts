/**
 * Colour palette extraction (imgix's `palette=json|css`) from raw RGBA samples of the rendered image.
 *
 * Both of imgix's sets come from one quantisation: a median cut (Heckbert's, with the population-then-volume
 * priority of the modified median cut that Color Thief and Vibrant.js use) over a 5-bit-per-channel
 * histogram splits the opaque pixels into up to 64 swatches, each the mean colour of its pixels.
 * - `colors`: the most populous swatches, skipping any too close to one already taken (JPEG noise would
 *   otherwise list one colour several times), any small one that is a blend of two taken ones (resampled
 *   edges), and any too rare to be part of the image's palette; so an image with fewer distinct colours
 *   gets fewer entries.
 * - `dominant_colors`: Vibrant.js's six named targets (Android's Palette): each picks the unused swatch
 *   closest to a target saturation and lightness, weighted by population, within hard bounds; a target no
 *   swatch fits is left out, as imgix documents.
 * The histogram is fixed-size and the sample count is bounded by the caller, so the cost does not depend
 * on the image's size. This is our own code rather than image-q (exact N colours, but far too slow for a
 * request) or libimagequant via sharp (palettes of 2^n colours only).
 */

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export type DominantName = 'vibrant' | 'muted_light' | 'muted' | 'vibrant_dark' | 'vibrant_light' | 'muted_dark';

export interface Palette {
  /** The `colors` set, most frequent first. */
  colors: Rgb[];
  /** Mean luma of the opaque pixels, 0–1. */
  averageLuminance: number;
  /** Only the targets some swatch fits. */
  dominant: Partial<Record<DominantName, Rgb>>;
}

/** Palette sizes imgix allows for `colors` (its manifest's range). */
export const MAX_COLORS = 16;

const SWATCHES = 64;
/** Pixels more transparent than this are not part of the picture's colours. */
const MIN_ALPHA = 128;
/** Swatches closer than this (Euclidean, 0–255 RGB) to a colour already listed are the same colour. */
const SAME_COLOR_DISTANCE = 24;
/** A swatch with a smaller share of the opaque pixels is a speck, not a palette colour. */
const MIN_SHARE = 0.01;
/**
 * A swatch with a smaller share that lies between two colours already listed is the resampled edge where
 * they meet (a small output has proportionally more edge pixels), not a colour of its own.
 */
const MAX_EDGE_SHARE = 0.05;
/** How the population-ordered phase of the median cut gives way to population × volume (MMCQ's 0.75). */
const POPULATION_PHASE = 0.75;

/** 5 bits per channel: 32768 bins, small enough to clear per call, fine enough for 64 swatches. */
const SHIFT = 3;
const SIDE = 1 << (8 - SHIFT);
const BINS = SIDE * SIDE * SIDE;

interface Swatch extends Rgb {
  population: number;
}

/** `rgba`: 4 bytes per pixel, sRGB. `count`: how many `colors` to list (0–MAX_COLORS). */
export function extractPalette(rgba: Uint8Array, count: number): Palette {
  const histogram = buildHistogram(rgba);
  if (histogram.opaque === 0) return { colors: [], averageLuminance: 0, dominant: {} };
  const swatches = medianCut(histogram, SWATCHES);
  return {
    colors: frequentColors(swatches, histogram.opaque, Math.min(MAX_COLORS, Math.max(0, Math.floor(count)))),
    averageLuminance: histogram.lumaSum / histogram.opaque / 255,
    dominant: dominantColors(swatches),
  };
}

interface Histogram {
  counts: Uint32Array;
  sums: Float64Array;
  /** Bins with at least one pixel. */
  used: number[];
  opaque: number;
  lumaSum: number;
}

function buildHistogram(rgba: Uint8Array): Histogram {
  const counts = new Uint32Array(BINS);
  const sums = new Float64Array(BINS * 3);
  let opaque = 0;
  let lumaSum = 0;
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    if (rgba[i + 3]! < MIN_ALPHA) continue;
    const r = rgba[i]!;
    const g = rgba[i + 1]!;
    const b = rgba[i + 2]!;
    const bin = ((r >> SHIFT) * SIDE + (g >> SHIFT)) * SIDE + (b >> SHIFT);
    counts[bin]!++;
    sums[bin * 3] = sums[bin * 3]! + r;
    sums[bin * 3 + 1] = sums[bin * 3 + 1]! + g;
    sums[bin * 3 + 2] = sums[bin * 3 + 2]! + b;
    opaque++;
    lumaSum += luma(r, g, b);
  }
  const used: number[] = [];
  for (let bin = 0; bin < BINS; bin++) if (counts[bin]! > 0) used.push(bin);
  return { counts, sums, used, opaque, lumaSum };
}

interface Box {
  bins: number[];
  population: number;
  /** Product of the box's extents in bins (≥ 1). */
  volume: number;
}

function medianCut(histogram: Histogram, target: number): Swatch[] {
  const boxes: Box[] = [box(histogram.used, histogram.counts)];
  const populationSplits = Math.round(target * POPULATION_PHASE);
  while (boxes.length < target) {
    const byVolume = boxes.length >= populationSplits;
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < boxes.length; i++) {
      const candidate = boxes[i]!;
      if (candidate.bins.length < 2) continue;
      const score = byVolume ? candidate.population * candidate.volume : candidate.population;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best === -1) break; // every box is a single bin: the image has no more colours to separate
    const [left, right] = split(boxes[best]!, histogram.counts);
    boxes.splice(best, 1, left, right);
  }
  return boxes.map((b) => swatch(b, histogram));
}

function box(bins: number[], counts: Uint32Array): Box {
  let population = 0;
  const min = [SIDE, SIDE, SIDE];
  const max = [-1, -1, -1];
  for (const bin of bins) {
    population += counts[bin]!;
    for (let a = 0; a < 3; a++) {
      const v = coordinate(bin, a);
      if (v < min[a]!) min[a] = v;
      if (v > max[a]!) max[a] = v;
    }
  }
  const volume = (max[0]! - min[0]! + 1) * (max[1]! - min[1]! + 1) * (max[2]! - min[2]! + 1);
  return { bins, population, volume };
}

/** Splits along the widest axis at the population median; both halves keep at least one bin. */
function split(whole: Box, counts: Uint32Array): [Box, Box] {
  const ranges = [0, 1, 2].map((axis) => {
    let lo = SIDE;
    let hi = -1;
    for (const bin of whole.bins) {
      const v = coordinate(bin, axis);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return hi - lo;
  });
  const axis = ranges.indexOf(Math.max(...ranges));
  const sorted = [...whole.bins].sort((a, b) => coordinate(a, axis) - coordinate(b, axis) || a - b);
  let cut = 1;
  for (let seen = 0; cut < sorted.length; cut++) {
    seen += counts[sorted[cut - 1]!]!;
    if (seen * 2 >= whole.population) break;
  }
  cut = Math.min(sorted.length - 1, Math.max(1, cut));
  return [box(sorted.slice(0, cut), counts), box(sorted.slice(cut), counts)];
}

/** The bin's position on one axis (0 red, 1 green, 2 blue), in bins. */
function coordinate(bin: number, axis: number): number {
  if (axis === 0) return Math.floor(bin / (SIDE * SIDE));
  return axis === 1 ? Math.floor(bin / SIDE) % SIDE : bin % SIDE;
}

function swatch(b: Box, histogram: Histogram): Swatch {
  let r = 0;
  let g = 0;
  let bl = 0;
  for (const bin of b.bins) {
    r += histogram.sums[bin * 3]!;
    g += histogram.sums[bin * 3 + 1]!;
    bl += histogram.sums[bin * 3 + 2]!;
  }
  const n = b.population;
  return { r: Math.round(r / n), g: Math.round(g / n), b: Math.round(bl / n), population: n };
}

function frequentColors(swatches: Swatch[], opaque: number, count: number): Rgb[] {
  const chosen: Rgb[] = [];
  const byPopulation = [...swatches].sort((a, b) => b.population - a.population);
  for (const s of byPopulation) {
    if (chosen.length >= count || s.population < opaque * MIN_SHARE) break;
    if (chosen.some((c) => distance(c, s) < SAME_COLOR_DISTANCE)) continue;
    if (s.population < opaque * MAX_EDGE_SHARE && isBlendOf(chosen, s)) continue;
    chosen.push({ r: s.r, g: s.g, b: s.b });
  }
  return chosen;
}

/** Whether `color` lies near the segment between some two of `colors` (a mix of the two). */
function isBlendOf(colors: readonly Rgb[], color: Rgb): boolean {
  for (let i = 0; i < colors.length; i++) {
    for (let j = i + 1; j < colors.length; j++) {
      if (distanceToSegment(color, colors[i]!, colors[j]!) < SAME_COLOR_DISTANCE) return true;
    }
  }
  return false;
}

function distanceToSegment(p: Rgb, a: Rgb, b: Rgb): number {
  const ab = [b.r - a.r, b.g - a.g, b.b - a.b] as const;
  const ap = [p.r - a.r, p.g - a.g, p.b - a.b] as const;
  const length2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
  const t = length2 === 0 ? 0 : Math.min(1, Math.max(0, (ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / length2));
  return Math.hypot(ap[0] - t * ab[0], ap[1] - t * ab[1], ap[2] - t * ab[2]);
}

interface Target {
  name: DominantName;
  lightness: readonly [min: number, target: number, max: number];
  saturation: readonly [min: number, target: number, max: number];
}

// Vibrant.js's targets and weights, in its order of selection (a swatch serves one target at most).
const NORMAL = [0.3, 0.5, 0.7] as const;
const LIGHT = [0.55, 0.74, 1] as const;
const DARK = [0, 0.26, 0.45] as const;
const VIBRANT = [0.35, 1, 1] as const;
const MUTED = [0, 0.3, 0.4] as const;
const TARGETS: readonly Target[] = [
  { name: 'vibrant', lightness: NORMAL, saturation: VIBRANT },
  { name: 'vibrant_light', lightness: LIGHT, saturation: VIBRANT },
  { name: 'vibrant_dark', lightness: DARK, saturation: VIBRANT },
  { name: 'muted', lightness: NORMAL, saturation: MUTED },
  { name: 'muted_light', lightness: LIGHT, saturation: MUTED },
  { name: 'muted_dark', lightness: DARK, saturation: MUTED },
];
const WEIGHT_SATURATION = 3;
const WEIGHT_LIGHTNESS = 6.5;
const WEIGHT_POPULATION = 0.5;

function dominantColors(swatches: Swatch[]): Partial<Record<DominantName, Rgb>> {
  const maxPopulation = Math.max(...swatches.map((s) => s.population));
  const hsl = swatches.map((s) => toHsl(s));
  const used = new Set<number>();
  const out: Partial<Record<DominantName, Rgb>> = {};
  for (const target of TARGETS) {
    let best = -1;
    let bestScore = -Infinity;
    swatches.forEach((s, i) => {
      const { saturation, lightness } = hsl[i]!;
      if (used.has(i)) return;
      if (saturation < target.saturation[0] || saturation > target.saturation[2]) return;
      if (lightness < target.lightness[0] || lightness > target.lightness[2]) return;
      const score =
        (WEIGHT_SATURATION * (1 - Math.abs(saturation - target.saturation[1])) +
          WEIGHT_LIGHTNESS * (1 - Math.abs(lightness - target.lightness[1])) +
          WEIGHT_POPULATION * (s.population / maxPopulation)) /
        (WEIGHT_SATURATION + WEIGHT_LIGHTNESS + WEIGHT_POPULATION);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    });
    if (best === -1) continue;
    used.add(best);
    const s = swatches[best]!;
    out[target.name] = { r: s.r, g: s.g, b: s.b };
  }
  return out;
}

function toHsl({ r, g, b }: Rgb): { saturation: number; lightness: number } {
  const max = Math.max(r, g, b) / 255;
  const min = Math.min(r, g, b) / 255;
  const lightness = (max + min) / 2;
  const delta = max - min;
  const saturation = delta === 0 ? 0 : delta / (1 - Math.abs(2 * lightness - 1));
  return { saturation, lightness };
}

/** Rec. 709 luma of gamma-encoded values (0–255). */
export function luma(r: number, g: number, b: number): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a.r - b.r, a.g - b.g, a.b - b.b);
}
