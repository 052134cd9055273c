/**
 * Where trim cuts: the box to keep, found on raw 8-bit sRGB pixels (3 or 4 bands). Undefined when nothing
 * is to be trimmed, or when everything would be (imgix then returns the image unchanged).
 *
 * - alpha: the bounding box of the pixels that are not fully transparent.
 * - color: the bounding box of the pixels whose largest channel difference from the colour exceeds the
 *   tolerance (sharp's trim compares the same way, but smooths first, so thin lines would vanish).
 * - auto: imgix's walk in from each edge. A line (row or column) belongs to the border while its pixels'
 *   mean difference from the edge's colour (the mean of its outermost line) is at most `md` and their
 *   standard deviation at most `sd`; the first line that fails either test stops the walk on that side.
 */
import type { Rgba } from './colors.ts';
import type { Region } from './geometry.ts';
import type { RawImage } from './tone/pixels.ts';

export function alphaBox(image: RawImage): Region | undefined {
  if (image.channels !== 4) return undefined;
  const { data } = image;
  return boundingBox(image, (i) => data[i + 3]! > 0);
}

export function colorBox(image: RawImage, color: Rgba, tolerance: number): Region | undefined {
  const { data, channels } = image;
  const target = [color.r, color.g, color.b, color.a];
  return boundingBox(image, (i) => {
    for (let c = 0; c < channels; c++) if (Math.abs(data[i + c]! - target[c]!) > tolerance) return true;
    return false;
  });
}

/** The top-left pixel, which imgix uses when trim-color is not given. */
export function topLeftColor(image: RawImage): Rgba {
  const { data, channels } = image;
  return { r: data[0]!, g: data[1]!, b: data[2]!, a: channels === 4 ? data[3]! : 255 };
}

export function borderBox(image: RawImage, md: number, sd: number): Region | undefined {
  const { width, height } = image;
  // Rows are walked first, then columns within the rows kept.
  const top = walk(image, md, sd, height, (k, n) => pixelOf(image, n, k), width);
  if (top === height) return undefined;
  // The line that stopped one side's walk is never taken by the opposite side's.
  const bottom = height - walk(image, md, sd, height - top - 1, (k, n) => pixelOf(image, n, height - 1 - k), width);
  const rows = bottom - top;
  const left = walk(image, md, sd, width, (k, n) => pixelOf(image, k, top + n), rows);
  if (left === width) return undefined;
  const right = width - walk(image, md, sd, width - left - 1, (k, n) => pixelOf(image, width - 1 - k, top + n), rows);
  return whole(image, { left, top, width: right - left, height: rows });
}

/**
 * How many lines, from the outermost (k = 0) inwards, belong to the border; at most `limit`.
 * `at(k, n)` is the byte offset of the n-th of the `length` pixels of line k.
 */
function walk(image: RawImage, md: number, sd: number, limit: number, at: (k: number, n: number) => number, length: number): number {
  const { data, channels } = image;
  const reference = new Float64Array(channels);
  for (let n = 0; n < length; n++) for (let c = 0; c < channels; c++) reference[c]! += data[at(0, n) + c]!;
  for (let c = 0; c < channels; c++) reference[c]! /= length;
  for (let k = 0; k < limit; k++) {
    let sum = 0;
    let squares = 0;
    for (let n = 0; n < length; n++) {
      const i = at(k, n);
      let difference = 0;
      for (let c = 0; c < channels; c++) difference += Math.abs(data[i + c]! - reference[c]!);
      difference /= channels;
      sum += difference;
      squares += difference * difference;
    }
    const mean = sum / length;
    const deviation = Math.sqrt(Math.max(0, squares / length - mean * mean));
    if (mean > md || deviation > sd) return k;
  }
  return limit;
}

function pixelOf(image: RawImage, x: number, y: number): number {
  return (y * image.width + x) * image.channels;
}

function boundingBox(image: RawImage, kept: (i: number) => boolean): Region | undefined {
  const { width, height, channels } = image;
  let left = width;
  let right = -1;
  let top = -1;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (kept(row + x * channels)) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    if (top < 0) top = y;
    bottom = y;
    left = Math.min(left, first);
    // Only the part right of what is already known can still widen the box.
    for (let x = width - 1; x > right; x--) {
      if (kept(row + x * channels)) {
        right = x;
        break;
      }
    }
    right = Math.max(right, first);
  }
  if (top < 0) return undefined;
  return whole(image, { left, top, width: right - left + 1, height: bottom - top + 1 });
}

/** A box equal to the whole image means nothing to trim. */
function whole(image: RawImage, box: Region): Region | undefined {
  return box.width === image.width && box.height === image.height ? undefined : box;
}

/** The trimmed box grown (or shrunk, for a negative pad) by `pad` on every side, within the image. */
export function padBox(box: Region, pad: number, image: { width: number; height: number }): Region {
  const grow = (start: number, size: number, limit: number): [number, number] => {
    if (pad < 0) {
      // Never below one pixel: the centre line survives any negative pad.
      const cut = Math.min(-pad, Math.floor((size - 1) / 2));
      return [start + cut, size - 2 * cut];
    }
    const from = Math.max(0, start - pad);
    return [from, Math.min(limit, start + size + pad) - from];
  };
  const [left, width] = grow(box.left, box.width, image.width);
  const [top, height] = grow(box.top, box.height, image.height);
  return { left, top, width, height };
}
