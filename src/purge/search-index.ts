import { BackgroundJob } from './background-job.ts';
import type { PurgeLedger } from './ledger.ts';

/**
 * Purges added to the index per pass. Indexing a URL takes event-loop time, more than the purge's own row, so
 * each pass is small: a burst of purges is indexed over the following seconds, and searches meanwhile match
 * the purges not indexed yet by scanning just those.
 */
const BATCH = 200;

/**
 * Keeps the Purges search's trigram index caught up, in the background: adding a URL to it costs more than
 * the purge's own row, and that cost belongs nowhere near the acknowledgement of a purge. Searches match the
 * few purges it has not reached yet without it (sqlite/purge-log.ts `list`), so they never miss one. A log
 * searched without an index of its own (PostgreSQL's) has nothing to add.
 */
export class PurgeSearchIndex {
  private readonly job: BackgroundJob<number>;

  constructor(ledger: PurgeLedger, options: { intervalMs: number; onError?: (error: unknown) => void }) {
    this.job = new BackgroundJob(() => ledger.indexForSearch(BATCH), options);
  }

  start(): void {
    this.job.start(false);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Indexes up to one batch of purges not indexed yet; resolves with how many. */
  catchUp(): Promise<number> {
    return this.job.run();
  }
}
