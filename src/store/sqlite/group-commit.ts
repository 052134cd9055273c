import type { Db } from './db.ts';
import { storeFault } from '../store-errors.ts';

/** How long a lazy write may wait for a commit to ride along with before it is committed on its own. */
export const LAZY_COMMIT_MS = 50;

/**
 * Group commit: writes requested in the same turn of the event loop share one transaction, so one fsync
 * makes a whole burst of purges durable. Each caller's promise resolves only after that commit.
 *
 * A lazy write (`commitSoon`) does not ask for a commit of its own: it joins the next one, or is committed
 * after LAZY_COMMIT_MS if none comes. better-sqlite3 commits (and fsyncs) on the event loop, so at a steady
 * trickle of purges this halves the fsyncs, each of which every other request waits for.
 */
export class GroupCommit {
  private pending: { write: () => void; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param onOutcome told after every commit: a problem when the store could not write (the writes of the
   *   batch are rejected with STORE_UNAVAILABLE), undefined when a commit succeeded again.
   */
  constructor(
    private readonly db: Db,
    private readonly onOutcome: (problem: string | undefined) => void = () => {},
  ) {}

  /** Durable when the promise resolves: committed in this turn of the event loop, with whatever else is pending. */
  commit(write: () => void): Promise<void> {
    const done = this.enqueue(write);
    this.immediate ??= setImmediate(() => this.flush());
    return done;
  }

  /** Durable when the promise resolves, within LAZY_COMMIT_MS; for writes whose loss in a crash is recovered. */
  commitSoon(write: () => void): Promise<void> {
    const done = this.enqueue(write);
    if (!this.immediate) this.timer ??= setTimeout(() => this.flush(), LAZY_COMMIT_MS);
    return done;
  }

  private enqueue(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ write, resolve, reject }));
  }

  /** Commits what is pending now (before the store closes). */
  flush(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      this.db.transaction(() => {
        for (const item of batch) item.write();
      })();
    } catch (error) {
      const fault = storeFault(error);
      if (fault) this.onOutcome(fault.message);
      for (const item of batch) item.reject(fault ?? error);
      return;
    }
    this.onOutcome(undefined);
    for (const item of batch) item.resolve();
  }
}
