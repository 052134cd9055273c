/**
 * An ink mask → the RGBA layer that is composited: the text in its colour, over its outline (`txt-line`,
 * the ink grown by that many pixels), over its shadow (`txt-shad`, the ink blurred, darkened and moved
 * down-right). The layer is larger than the mask by `margin` on every side, so nothing of the outline or
 * shadow is cut; only the part of it that lands on the image (`window`) is painted and kept.
 */
import sharp from 'sharp';
import type { Rgba } from '../colors.ts';
import type { RawRgba } from '../blend-modes.ts';
import type { Exec, Mask } from './layout.ts';

export interface TextLook {
  color: Rgba;
  /** Outline width in pixels (≥ 1) and colour. */
  outline?: { width: number; color: Rgba };
  /** A black shadow: Gaussian sigma and offset in pixels, opacity 0–1. */
  shadow?: { sigma: number; offset: number; opacity: number };
}

interface InkLayer {
  alpha: Buffer;
  color: Rgba;
  opacity: number;
  dx: number;
  dy: number;
}

export interface TextLayer {
  image: RawRgba;
  /** Pixels of layer around the mask on each side. */
  margin: number;
}

/** Pixels the outline and the shadow reach beyond the ink, on every side. */
export function layerMargin(look: TextLook): number {
  const outline = look.outline ? Math.round(look.outline.width) : 0;
  const shadowReach = look.shadow ? Math.ceil(3 * look.shadow.sigma) + look.shadow.offset : 0;
  return outline + shadowReach;
}

/** A rectangle of the layer (the mask grown by its margin), in the layer's own coordinates. */
export interface LayerWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Paints the `window` part of the text layer (the whole layer by default) into raw RGBA. */
export async function paintText(mask: Mask, look: TextLook, exec: Exec, window?: LayerWindow): Promise<TextLayer> {
  const outline = look.outline ? Math.round(look.outline.width) : 0;
  const margin = layerMargin(look);
  const width = mask.width + 2 * margin;
  const height = mask.height + 2 * margin;
  const ink = padMask(mask, margin);
  const area = window ?? { left: 0, top: 0, width, height };

  const layers: InkLayer[] = [];
  if (look.shadow) {
    const { sigma, offset, opacity } = look.shadow;
    const { data } = await exec(sharp(ink, { raw: { width, height, channels: 1 } }).blur(Math.max(0.3, sigma)).toColourspace('b-w').raw({ depth: 'uchar' }));
    layers.push({ alpha: data, color: { r: 0, g: 0, b: 0, a: 255 }, opacity, dx: offset, dy: offset });
  }
  if (look.outline && outline > 0) {
    layers.push({ alpha: dilate(ink, width, height, outline), color: look.outline.color, opacity: 1, dx: 0, dy: 0 });
  }
  layers.push({ alpha: ink, color: look.color, opacity: 1, dx: 0, dy: 0 });

  const image = composeLayers(layers, width, area);
  return { image, margin };
}

/** Straight-alpha "over" of the layers (bottom first) over `area` of the layer; a pixel no layer covers stays transparent. */
function composeLayers(layers: readonly InkLayer[], width: number, area: LayerWindow): RawRgba {
  const out = Buffer.alloc(area.width * area.height * 4);
  const weights = layers.map((layer) => (layer.color.a / 255) * layer.opacity / 255);
  for (let y = area.top; y < area.top + area.height; y++) {
    for (let x = area.left; x < area.left + area.width; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let l = 0; l < layers.length; l++) {
        const layer = layers[l]!;
        const sx = x - layer.dx;
        const sy = y - layer.dy;
        if (sx < 0 || sy < 0) continue;
        const coverage = layer.alpha[sy * width + sx]!;
        if (coverage === 0) continue;
        const la = coverage * weights[l]!;
        if (la >= 1 || a === 0) {
          r = layer.color.r; g = layer.color.g; b = layer.color.b;
          a = la >= 1 ? 1 : la;
          continue;
        }
        const below = a * (1 - la);
        const na = la + below;
        r = (layer.color.r * la + r * below) / na;
        g = (layer.color.g * la + g * below) / na;
        b = (layer.color.b * la + b * below) / na;
        a = na;
      }
      if (a === 0) continue;
      const i = ((y - area.top) * area.width + (x - area.left)) * 4;
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
      out[i + 3] = a * 255 + 0.5;
    }
  }
  return { data: out, width: area.width, height: area.height };
}

function padMask(mask: Mask, margin: number): Buffer {
  if (margin === 0) return mask.data;
  const width = mask.width + 2 * margin;
  const out = Buffer.alloc(width * (mask.height + 2 * margin));
  for (let y = 0; y < mask.height; y++) {
    mask.data.copy(out, (y + margin) * width + margin, y * mask.width, (y + 1) * mask.width);
  }
  return out;
}

/** Grows the ink by `radius` pixels (a square maximum filter, rows then columns, linear in the area). */
function dilate(ink: Buffer, width: number, height: number, radius: number): Buffer {
  const rows = Buffer.alloc(ink.length);
  for (let y = 0; y < height; y++) slidingMax(ink, rows, y * width, 1, width, radius);
  const out = Buffer.alloc(ink.length);
  for (let x = 0; x < width; x++) slidingMax(rows, out, x, width, height, radius);
  return out;
}

/** out[i] = max of input over [i − radius, i + radius] along one line (a monotonic queue of indices). */
function slidingMax(input: Buffer, output: Buffer, start: number, stride: number, length: number, radius: number): void {
  const queue = new Int32Array(length);
  let head = 0;
  let tail = 0;
  let next = 0; // next index to enter the window
  for (let i = 0; i < length; i++) {
    const last = Math.min(length - 1, i + radius);
    for (; next <= last; next++) {
      const value = input[start + next * stride]!;
      while (tail > head && input[start + queue[tail - 1]! * stride]! <= value) tail--;
      queue[tail++] = next;
    }
    while (queue[head]! < i - radius) head++;
    output[start + i * stride] = input[start + queue[head]! * stride]!;
  }
}
