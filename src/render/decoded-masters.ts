/**
 * Decoded, pre-shrunk masters: the widths of a `srcset` are rendered from pixels already decoded, not by
 * decoding the master again for every width. A master is decoded (with shrink-on-load, oriented, 8-bit)
 * once per power-of-two level — 1, 1/2, 1/4, 1/8 of its size — and each render starts from the smallest
 * level that is still at least as large as what it needs, so nothing is lost to the shortcut.
 *
 * Only renders whose first pixel operation is the resize qualify (no trim, rect, orient override or
 * focal-point crop, which work in full-resolution coordinates), and only still raster formats.
 */
import sharp, { type SharpOptions } from 'sharp';
import { bufferBytes } from '../cache/footprint.ts';
import { MemoryLru } from '../cache/memory-lru.ts';
import { needsFaceGeometry } from './faces-params.ts';
import { planGeometry, type OutputLimits, type ResizePlan, type Size } from './geometry.ts';
import type { RenderParams } from './render-params.ts';
import { mapSharpError } from './sharp-errors.ts';

export interface DecodedLevel {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A source for the pipeline builder: the encoded master, or a decoded level standing in for it. */
export interface PipelineSource {
  input: Buffer;
  options: SharpOptions;
  hasAlpha: boolean;
  /** The scale of the level used (1 = full size); 0 when the encoded master is used. */
  level: number;
}

const SCALES = [8, 4, 2, 1] as const;
/** A level's record besides its pixels. */
const LEVEL_OBJECT_BYTES = 512;
const LEVEL_FORMATS = new Set(['jpeg', 'png', 'webp', 'avif', 'tiff', 'heif']);

export class DecodedMasters {
  private readonly levels: MemoryLru<DecodedLevel>;
  private readonly decoding = new Map<string, Promise<DecodedLevel>>();
  /** A level larger than this is not kept (nor made): decoding straight from the master is then the better deal. */
  private readonly maxLevelBytes: number;

  constructor(maxBytes: number) {
    this.maxLevelBytes = Math.floor(maxBytes / 4);
    this.levels = new MemoryLru(maxBytes, this.maxLevelBytes);
  }

  /**
   * The source to render from. `masterKey` must change whenever the master's bytes do (asset + content
   * hash), so a purge or a new version never reuses old pixels.
   */
  async source(masterKey: string, input: Buffer, master: MasterInfo, params: RenderParams, limits: OutputLimits): Promise<PipelineSource | undefined> {
    const scale = this.scaleFor(master, params, limits);
    if (scale === undefined) return undefined;
    const key = `${masterKey}@${scale}`;
    let level = this.levels.get(key);
    if (!level) {
      let pending = this.decoding.get(key);
      if (!pending) {
        pending = decodeLevel(input, master, scale);
        this.decoding.set(key, pending);
        void pending.then(
          (decoded) => {
            this.decoding.delete(key);
            // Raw pixels come from libvips in an allocation of exactly their size: no copy needed.
            this.levels.set(key, decoded, bufferBytes(decoded.data) + LEVEL_OBJECT_BYTES);
          },
          () => this.decoding.delete(key),
        );
      }
      level = await pending;
    }
    return {
      input: level.data,
      options: { raw: { width: level.width, height: level.height, channels: level.channels }, limitInputPixels: false },
      hasAlpha: level.channels === 2 || level.channels === 4,
      level: scale,
    };
  }

  get bytes(): number {
    return this.levels.bytes;
  }

  private scaleFor(master: MasterInfo, params: RenderParams, limits: OutputLimits): number | undefined {
    if (!LEVEL_FORMATS.has(master.format) || master.pages > 1) return undefined;
    // Face-aware crops cut regions in full-resolution coordinates, wherever the faces turn out to be.
    if (params.trim || params.rect || params.orient !== undefined || needsFaceGeometry(params)) return undefined;
    const needed = neededFraction(planGeometry(master, params, limits).resize, master);
    if (needed === undefined) return undefined;
    for (const scale of SCALES) {
      const width = Math.round(master.width / scale);
      const height = Math.round(master.height / scale);
      if (width * height * (master.hasAlpha ? 4 : 3) > this.maxLevelBytes) return undefined;
      if (width >= Math.ceil(master.width * needed) && height >= Math.ceil(master.height * needed)) return scale;
    }
    return undefined;
  }
}

export interface MasterInfo extends Size {
  /** sharp's format name. */
  format: string;
  pages: number;
  hasAlpha: boolean;
  limitInputPixels: number;
}

/** The fraction of the source's resolution a resize needs, or undefined if it must see the full source. */
export function neededFraction(plan: ResizePlan, source: Size): number | undefined {
  switch (plan.kind) {
    case 'scale':
    case 'cover':
      return Math.max(plan.width / source.width, plan.height / source.height);
    case 'contain':
      return Math.max(plan.inner.width / source.width, plan.inner.height / source.height);
    default:
      return undefined; // no resize (the output is the full source) or a focal crop in source coordinates
  }
}

async function decodeLevel(input: Buffer, master: MasterInfo, scale: number): Promise<DecodedLevel> {
  let image = sharp(input, { limitInputPixels: master.limitInputPixels, failOn: 'error', autoOrient: true });
  if (scale > 1) image = image.resize(Math.round(master.width / scale), Math.round(master.height / scale), { fit: 'fill' });
  try {
    const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels as DecodedLevel['channels'] };
  } catch (error) {
    throw mapSharpError(error);
  }
}
