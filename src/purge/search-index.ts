import type { PurgeStore } from '../store/purge-store.ts';

/**
 * Purges added to the index per pass. Indexing a URL costs tens of microseconds of the event loop, so each pass
 * is small: a burst of purges is indexed over the following seconds, and searches meanwhile match the purges
 * not indexed yet by scanning just those.
 */
const BATCH = 200;

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

  /** Indexes up to one batch of purges not indexed yet; resolves with how many (never two passes at once). */
  catchUp(): Promise<number> {
    this.running ??= Promise.resolve()
      .then(() => this.store.indexForSearch(BATCH))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
