import { PictorError } from '../errors.ts';

type Run = (signal: AbortSignal) => Promise<void>;

/**
 * The processing queue: jobs run `concurrency` at a time, first come first served, at most one per key (a
 * video). A job queued for a key that already has one waiting takes its place; one queued while the key's
 * job runs aborts that run (its bytes are outdated) and waits its turn. At most `limit` jobs wait.
 */
export class JobQueue {
  private readonly waiting = new Map<string, Run>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(
    private readonly concurrency: number,
    private readonly limit: number,
    private readonly onError: (error: unknown, key: string) => void,
  ) {}

  /** False when the queue is full (nothing was queued). */
  enqueue(key: string, run: Run): boolean {
    if (!this.waiting.has(key) && this.waiting.size >= this.limit) return false;
    this.waiting.delete(key);
    this.waiting.set(key, run);
    this.running.get(key)?.controller.abort();
    this.pump();
    return true;
  }

  /** Whether a job for this key waits or runs. */
  has(key: string): boolean {
    return this.waiting.has(key) || this.running.has(key);
  }

  /** Drops the key's waiting job and aborts its running one. */
  cancel(key: string): void {
    this.waiting.delete(key);
    this.running.get(key)?.controller.abort();
  }

  get depth(): number {
    return this.waiting.size + this.running.size;
  }

  /** Drops what waits, aborts what runs, and resolves once every run has ended. */
  async stop(): Promise<void> {
    this.waiting.clear();
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  private pump(): void {
    for (const [key, run] of this.waiting) {
      if (this.running.size >= this.concurrency) return;
      if (this.running.has(key)) continue; // waits until the aborted run of the same key has ended
      this.waiting.delete(key);
      const controller = new AbortController();
      const done = run(controller.signal)
        .catch((error: unknown) => this.onError(error, key))
        .finally(() => {
          this.running.delete(key);
          this.pump();
        });
      this.running.set(key, { controller, done });
    }
  }
}

/**
 * Work done while a request waits (a thumbnail, a GIF, a remux): `concurrency` at a time, at most `limit`
 * waiting; past that the request is answered 503 with Retry-After rather than queued without bound.
 */
export class Limiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly limit: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiters.length >= this.limit) {
        throw new PictorError('VIDEO_QUEUE_FULL', 'Too many video outputs are being made; try again shortly.', { headers: { 'retry-after': '5' } });
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    }
  }
}
