import { BackgroundJob } from '../purge/background-job.ts';
import type { WebhookStore } from '../store/webhook-store.ts';

/** Deliveries deleted per transaction: each batch holds the write lock briefly, so sends and purges go on between them. */
const BATCH = 500;

export interface WebhookRetentionOptions {
  /** How long delivered and failed deliveries are kept after they ended (`--webhook-retention`). */
  retentionMs: number;
  /** How often it runs. */
  intervalMs: number;
  batch?: number;
  onPruned?: (deleted: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Keeps the delivery log bounded: deliveries that were delivered or failed more than the retention ago are
 * deleted with their attempts, a bounded batch per transaction. A pending delivery is never deleted, however
 * old: it is still to be sent, and fails by itself once its retry window (`--webhook-retry`) ends.
 *
 * In a cluster every node runs it; the deletions only repeat each other (each row goes once).
 */
export class WebhookRetention {
  private readonly job: BackgroundJob<number>;
  private stopping = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly options: WebhookRetentionOptions,
  ) {
    this.job = new BackgroundJob(() => this.prune(), { intervalMs: options.intervalMs, onDone: options.onPruned, onError: options.onError });
  }

  /** Prunes now and then every interval, until `stop`. */
  start(): void {
    this.job.start(true);
  }

  /** Stops between two batches. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.job.stop();
  }

  /** Deletes what ended more than the retention before `now`, batch after batch; answers how many deliveries. */
  async prune(now = Date.now()): Promise<number> {
    const batch = this.options.batch ?? BATCH;
    const before = now - this.options.retentionMs;
    let total = 0;
    let deleted = batch;
    // A full batch may have left more behind; a short one was the last.
    while (deleted === batch && !this.stopping) {
      deleted = await this.store.deleteEnded(before, batch);
      total += deleted;
    }
    return total;
  }
}
