import type { PurgeStore } from '../store/purge-store.ts';

/** Purges added to the search index per transaction: each is short, and the event loop runs between them. */
const BATCH = 1000;

/**
 * Keeps the Purges search's trigram index caught up, in the background: adding a URL to it costs more than
 * the purge's own row, and that cost belongs nowhere near the acknowledgement of a purge. Searches match the
 * few purges it has not reached yet without it (PurgeStore.list), so they never miss one.
 */
export class PurgeSearchIndex {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: PurgeStore,
    private readonly options: { intervalMs: number; onError?: (error: unknown) => void },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.catchUp().catch((error: unknown) => this.options.onError?.(error)), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Indexes every purge not indexed yet; resolves with how many (never two passes at once). */
  catchUp(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    let total = 0;
    for (let added = BATCH; added === BATCH; total += added) {
      await new Promise((resolve) => setImmediate(resolve));
      added = this.store.indexForSearch(BATCH);
    }
    return total;
  }
}
