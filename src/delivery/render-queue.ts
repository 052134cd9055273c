import { PictorError } from '../errors.ts';

/**
 * Bounds the renders running at once (libvips already uses every core for one image, so more parallel
 * renders only add memory) and the renders waiting; past the queue limit a request gets 503 with
 * Retry-After instead of holding memory indefinitely.
 */
export class RenderQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) {
        throw new PictorError('OVERLOADED', 'Too many renders are waiting; try again shortly.', { headers: { 'retry-after': '1' } });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get depth(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }
}
