import type { Freshness } from '../cache/freshness.ts';
import { BackgroundJob } from './background-job.ts';

/** What retention needs of the purge store: SQLite's PurgeStore, or a cluster's PostgreSQL purge log. */
export interface RetentionStore {
  /** Raises the persisted mark floor to the newest purge that completed before `cutoff`; returns the floor. */
  raiseFloor(cutoff: number): number | Promise<number>;
  /** Deletes up to `limit` marks at or below the floor; returns how many. */
  deleteMarksUpTo(floor: number, limit: number): number | Promise<number>;
  /** Deletes up to `limit` purges created before `cutoff` that are no longer pending; returns how many. */
  deleteEndedBefore(cutoff: number, limit: number): number | Promise<number>;
}

export interface RetentionOptions {
  /** How long purges (and the marks they applied) are kept after they ended (`--purge-retention`). */
  retentionMs: number;
  /** How often compaction runs. */
  intervalMs: number;
  onCompacted?: (result: CompactionResult) => void;
  onError?: (error: unknown) => void;
}

export interface CompactionResult {
  floor: number;
  purgesDeleted: number;
  marksDeleted: number;
}

/** Rows deleted per transaction: each batch is short, and the event loop runs between batches. */
const BATCH = 2000;

/**
 * Keeps the purge history and the freshness marks bounded: purges that ended more than the retention ago
 * are deleted, and so are the marks of every purge applied up to then, after the mark floor is raised past
 * them (cache/freshness.ts). The cost is that cached entries built before the floor are built again when
 * next asked for: a cached entry is trusted for at most about the retention window after a purge older
 * than it, which is far longer than a CDN keeps most entries anyway.
 *
 * The floor is persisted before any mark is deleted, so a crash in between loses nothing. In a cluster every
 * node runs it (each compacts its own marks in memory); the deletions only repeat each other, and the floor
 * only rises.
 */
export class PurgeRetention {
  private readonly job: BackgroundJob<CompactionResult>;

  constructor(
    private readonly store: RetentionStore,
    private readonly freshness: Freshness,
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
    return this.run(now);
  }

  private async run(now: number): Promise<CompactionResult> {
    const cutoff = now - this.options.retentionMs;
    const floor = await this.store.raiseFloor(cutoff);
    this.freshness.compact(floor);
    let marksDeleted = 0;
    for (let deleted = BATCH; deleted === BATCH; marksDeleted += deleted) {
      await yieldToEventLoop();
      deleted = await this.store.deleteMarksUpTo(floor, BATCH);
    }
    let purgesDeleted = 0;
    for (let deleted = BATCH; deleted === BATCH; purgesDeleted += deleted) {
      await yieldToEventLoop();
      deleted = await this.store.deleteEndedBefore(cutoff, BATCH);
    }
    return { floor, purgesDeleted, marksDeleted };
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
