import { BackgroundJob } from './background-job.ts';
import type { CompactionResult, PurgeLedger } from './ledger.ts';

export interface RetentionOptions {
  /** How long purges (and the marks they applied) are kept after they ended (`--purge-retention`). */
  retentionMs: number;
  /** How often compaction runs. */
  intervalMs: number;
  onCompacted?: (result: CompactionResult) => void;
  onError?: (error: unknown) => void;
}

/**
 * Keeps the purge history and the freshness marks bounded: purges that ended more than the retention ago
 * are deleted, and so are the marks of every purge applied up to then, after the mark floor is raised past
 * them (cache/freshness.ts, PurgeLedger.compact). The cost is that cached entries built before the floor are
 * built again when next asked for: a cached entry is trusted for at most about the retention window after a
 * purge older than it, which is far longer than a CDN keeps most entries anyway.
 *
 * In a cluster every node runs it (each compacts its own marks in memory); the deletions only repeat each
 * other, and the floor only rises.
 */
export class PurgeRetention {
  private readonly job: BackgroundJob<CompactionResult>;

  constructor(
    private readonly ledger: PurgeLedger,
    private readonly options: RetentionOptions,
  ) {
    this.job = new BackgroundJob(() => this.compact(), { intervalMs: options.intervalMs, onDone: options.onCompacted, onError: options.onError });
  }

  /** Compacts now and then every interval, until `stop`. */
  start(): void {
    this.job.start(true);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /**
   * One compaction, as if it were `now`. Two at once would only repeat each other's deletions (the floor only
   * rises), but the schedule never starts one while another runs.
   */
  compact(now = Date.now()): Promise<CompactionResult> {
    return this.ledger.compact(now - this.options.retentionMs);
  }
}
