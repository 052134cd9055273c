/**
 * Packs imgix steps into as few sharp pipelines as possible without changing their meaning.
 *
 * sharp keeps one slot per operation (a second `.extend()` replaces the first) and runs operations in a
 * fixed internal order, not call order (rendering-notes §2). So each op declares its slot and the sharp
 * stages it occupies; an op joins the current pipeline only if its slot is free and sharp would run it
 * after everything already queued. Otherwise the pipeline is materialised to raw pixels (no encode) and a
 * new one starts from them. The common case — orient + resize + encode — stays one pipeline, keeping
 * shrink-on-load.
 */
import sharp, { type OutputInfo, type Sharp, type SharpOptions } from 'sharp';
import { PictorError } from '../errors.ts';
import { mapSharpError } from './sharp-errors.ts';

/** sharp's execution order (src/pipeline.cc in sharp 0.35), coarse-grained. */
export const STAGE = {
  orient: 10,
  trim: 30,
  extractPre: 40,
  flatten: 50,
  gammaIn: 55,
  resize: 70,
  rotate90: 90,
  joinChannel: 95,
  embed: 100,
  rotate: 110,
  extractPost: 120,
  extend: 140,
  blur: 160,
  recomb: 180,
  modulate: 190,
  sharpen: 200,
  composite: 210,
  gammaOut: 220,
  linear: 230,
  negate: 280,
} as const;

export type Slot = 'trim' | 'extractPre' | 'extractPost' | 'resize' | 'flip' | 'rotate' | 'extend' | 'flatten'
  | 'gamma' | 'blur' | 'recomb' | 'modulate' | 'sharpen' | 'composite' | 'linear' | 'negate' | 'joinChannel';

export interface Op {
  /** sharp keeps one of each per pipeline; reusing a slot starts a new pipeline. */
  slots: readonly Slot[];
  /** Earliest and latest sharp stage the op runs at. */
  from: number;
  to?: number;
  /** Moves or resamples pixels without inventing colours. */
  geometric?: boolean;
  /** Pointwise colour op that commutes with geometric ops (flatten), so only colour ops must precede it. */
  commutesWithGeometry?: boolean;
  apply(image: Sharp): Sharp;
}

/** Adding one of these after a rotate/flip makes sharp run the rotation first (its `rotateBefore` flag). */
const REORDERED_BY_ROTATION = new Set<Slot>(['resize', 'trim', 'extractPre', 'extractPost']);

export interface BuilderInit {
  input: Buffer;
  options: SharpOptions;
  width: number;
  height: number;
  hasAlpha: boolean;
  /** Epoch ms after which rendering fails with RENDER_TIMEOUT; undefined = no limit. */
  deadline: number | undefined;
}

export class PipelineBuilder {
  /** Current size and alpha of the image as the queued ops leave it (steps keep these up to date). */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** How many sharp pipelines ran or are queued (1 for the common case); useful in tests and metrics. */
  pipelines = 1;
  /** Whether `transformPixels` may be used: not for an animation's frames, which are never materialised one by one. */
  readonly pixelAccess: boolean = true;

  private image: Sharp;
  private readonly slots = new Set<Slot>();
  private last = 0;
  private lastColour = 0;
  /** sharp moves a queued rotate/flip before a resize/extract/trim added later; never let that happen. */
  private rotationQueued = false;
  private readonly deadline: number | undefined;

  constructor(init: BuilderInit) {
    this.image = sharp(init.input, init.options);
    this.width = init.width;
    this.height = init.height;
    this.hasAlpha = init.hasAlpha;
    this.deadline = init.deadline;
  }

  async add(op: Op): Promise<void> {
    if (!this.accepts(op)) await this.materialize();
    op.apply(this.image);
    for (const slot of op.slots) this.slots.add(slot);
    const to = op.to ?? op.from;
    this.last = Math.max(this.last, to);
    if (!op.geometric) this.lastColour = Math.max(this.lastColour, to);
    // An EXIF-style orientation at the very start is meant to run first; later rotations/flips are not.
    const rotates = op.slots.includes('rotate') || op.slots.includes('flip');
    if (rotates && op.from > STAGE.orient) this.rotationQueued = true;
  }

  /** Runs what is queued into raw pixels and starts a fresh pipeline from them. */
  async materialize(): Promise<void> {
    const { data, info } = await this.run(this.image.raw({ depth: 'uchar' }));
    this.restart(data, info);
  }

  /**
   * Runs what is queued into raw 8-bit sRGB pixels (3 or 4 bands), lets `transform` rewrite them in place,
   * and starts a fresh pipeline from them: for per-pixel work sharp has no operation for (blend modes).
   */
  async transformPixels(transform: (data: Buffer, info: OutputInfo) => void): Promise<void> {
    const { data, info } = await this.run(this.image.toColourspace('srgb').raw({ depth: 'uchar' }));
    transform(data, info);
    this.restart(data, info);
  }

  /** Runs a separate pipeline (e.g. a sub-image) under the same deadline and error mapping. */
  async exec(image: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
    return this.run(image);
  }

  /** Renders a copy of the current pipeline plus `configure` to raw pixels (e.g. the foreground of fill=blur). */
  async branch(configure: (image: Sharp) => Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
    return this.run(configure(this.image.clone()).raw({ depth: 'uchar' }));
  }

  /** Runs the final pipeline with the encoder (or `.raw()`) that `configure` sets. */
  async finish(configure: (image: Sharp) => Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
    return this.run(configure(this.image));
  }

  private accepts(op: Op): boolean {
    if (op.slots.some((slot) => this.slots.has(slot))) return false;
    if (this.rotationQueued && op.slots.some((slot) => REORDERED_BY_ROTATION.has(slot))) return false;
    return op.from >= (op.commutesWithGeometry ? this.lastColour : this.last);
  }

  private restart(data: Buffer, info: OutputInfo): void {
    const channels = info.channels as 1 | 2 | 3 | 4;
    // Intermediates are our own, already bounded by the planner: no input pixel limit.
    this.image = sharp(data, { raw: { width: info.width, height: info.height, channels }, limitInputPixels: false });
    this.width = info.width;
    this.height = info.height;
    this.hasAlpha = channels === 2 || channels === 4;
    this.slots.clear();
    this.last = 0;
    this.lastColour = 0;
    this.rotationQueued = false;
    this.pipelines++;
  }

  private async run(image: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
    if (this.deadline !== undefined) {
      const remainingMs = this.deadline - Date.now();
      if (remainingMs <= 0) throw new PictorError('RENDER_TIMEOUT', 'Rendering took too long');
      image.timeout({ seconds: Math.max(1, Math.ceil(remainingMs / 1000)) });
    }
    try {
      return await image.toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw mapSharpError(error);
    }
  }
}
