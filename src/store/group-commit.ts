import type { Db } from './db.ts';

/**
 * Group commit: writes requested in the same turn of the event loop share one transaction, so one fsync
 * makes a whole burst of purges durable. Each caller's promise resolves only after that commit.
 */
export class GroupCommit {
  private pending: { write: () => void; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly db: Db) {}

  commit(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ write, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      this.db.transaction(() => {
        for (const item of batch) item.write();
      })();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) item.resolve();
  }
}
