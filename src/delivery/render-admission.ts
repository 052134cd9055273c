import { PictorError } from '../errors.ts';
import { formatBytes, HEAVY_RENDER_BYTES, lightReserve, MAX_RENDER_SECONDS, type RenderCost } from '../render/cost.ts';

export interface AdmissionOptions {
  /** Light renders running at once (`--render-concurrency`). */
  lightConcurrency: number;
  /** Heavy renders running at once (each in its own render process). */
  heavyConcurrency: number;
  /** Memory for renders (`--render-memory`): light renders' share is reserved, heavy ones share the rest. */
  memoryBytes: number;
  /** Light renders waiting before 503 (`--render-queue-limit`). */
  queueLimit: number;
  /** Heavy renders waiting before 503. */
  heavyQueueLimit: number;
}

interface Lane {
  running: number;
  bytes: number;
  readonly waiting: { cost: RenderCost; start: () => void }[];
}

/**
 * Admits renders by their estimated memory (render/cost.ts), in two lanes so that heavy renders can never
 * hold up ordinary ones:
 * - light renders (each estimated under HEAVY_RENDER_BYTES) run in the process, `lightConcurrency` at a
 *   time; their worst case, lightConcurrency × HEAVY_RENDER_BYTES, is reserved out of the budget;
 * - heavy renders share what is left of the budget, at most `heavyConcurrency` at a time, first come first
 *   served. One that could never fit is refused at once (413), one that would wait past the queue limit
 *   gets 503 with Retry-After. Memory is released when the render's work has really ended.
 * Any render estimated to take longer than MAX_RENDER_SECONDS of work is refused at once too (413).
 */
export class RenderAdmission {
  private readonly light: Lane = { running: 0, bytes: 0, waiting: [] };
  private readonly heavy: Lane = { running: 0, bytes: 0, waiting: [] };
  /** What heavy renders may hold together. */
  readonly heavyBudget: number;

  constructor(private readonly options: AdmissionOptions) {
    this.heavyBudget = options.memoryBytes - lightReserve(options.lightConcurrency);
    if (this.heavyBudget < HEAVY_RENDER_BYTES) throw new Error('the render memory budget leaves nothing for heavy renders');
  }

  /** Refuses a render that could never be admitted: checked before anything is queued or fetched. */
  check(cost: RenderCost): void {
    if (cost.heavy && cost.bytes > this.heavyBudget) {
      throw new PictorError(
        'RENDER_TOO_LARGE',
        `This render would need about ${formatBytes(cost.bytes)} of memory, more than the ${formatBytes(this.heavyBudget)} available to one render ` +
          '(--render-memory); ask for a smaller size, smaller or fewer layers (mark, blend, mask, txt), or a format such as webp, jpg or png instead of avif',
      );
    }
    if (cost.seconds > MAX_RENDER_SECONDS) {
      throw new PictorError(
        'RENDER_TOO_LARGE',
        `This render would take about ${Math.ceil(cost.seconds)} s of work, more than the ${MAX_RENDER_SECONDS} s one render may take; ` +
          'ask for a smaller size, or fewer effects drawn pixel by pixel (blend modes, masks, text outlines and shadows, SVG filters)',
      );
    }
  }

  async run<T>(cost: RenderCost, task: () => Promise<T>): Promise<T> {
    this.check(cost);
    const lane = cost.heavy ? this.heavy : this.light;
    if (!this.fits(lane, cost) || lane.waiting.length > 0) {
      const limit = cost.heavy ? this.options.heavyQueueLimit : this.options.queueLimit;
      if (lane.waiting.length >= limit) {
        const what = cost.heavy ? 'large renders' : 'renders';
        throw new PictorError('OVERLOADED', `Too many ${what} are waiting; try again shortly.`, { headers: { 'retry-after': cost.heavy ? '5' : '1' } });
      }
      await new Promise<void>((start) => lane.waiting.push({ cost, start }));
    } else {
      this.take(lane, cost);
    }
    try {
      return await task();
    } finally {
      lane.running--;
      lane.bytes -= cost.bytes;
      this.admitWaiting(lane);
    }
  }

  /** Renders waiting for a slot, both lanes. */
  get depth(): number {
    return this.light.waiting.length + this.heavy.waiting.length;
  }

  /** Estimated bytes held by running renders. */
  get bytesInUse(): number {
    return this.light.bytes + this.heavy.bytes;
  }

  private fits(lane: Lane, cost: RenderCost): boolean {
    if (lane === this.light) return lane.running < this.options.lightConcurrency;
    return lane.running < this.options.heavyConcurrency && lane.bytes + cost.bytes <= this.heavyBudget;
  }

  private take(lane: Lane, cost: RenderCost): void {
    lane.running++;
    lane.bytes += cost.bytes;
  }

  /** First come, first served within a lane: a large render waiting is not overtaken by smaller ones. */
  private admitWaiting(lane: Lane): void {
    for (let next = lane.waiting[0]; next && this.fits(lane, next.cost); next = lane.waiting[0]) {
      lane.waiting.shift();
      this.take(lane, next.cost);
      next.start();
    }
  }
}
