/**
 * Calls that arrive while a batch is in flight wait, and go together in the next batch (at most `maxBatch` of
 * them). Writes use it for group commit: one transaction, one statement and one commit for the whole batch,
 * so throughput is not one transaction's round trips and flush per call; reads of the same row share one
 * query. The first call of a quiet moment goes at once, alone: nothing waits for company, and a call is
 * always answered by a batch that started after it arrived.
 *
 * Invariant: a call's promise settles only once its batch has. A batch that fails rejects every call in it;
 * when the batch is one transaction, none of them was written: nothing is acknowledged that is not committed.
 */
export class Batcher<T, R> {
  private readonly waiting: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  /** `run` answers one result per item, in the items' order (a write: once the batch is committed). */
  constructor(
    private readonly run: (items: readonly T[]) => Promise<readonly R[]>,
    private readonly maxBatch: number,
  ) {}

  /** Nothing waits and no batch is in flight. */
  get idle(): boolean {
    return !this.running && this.waiting.length === 0;
  }

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const results = await this.run(batch.map((call) => call.item));
          batch.forEach((call, i) => call.resolve(results[i]!));
        } catch (error) {
          for (const call of batch) call.reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
