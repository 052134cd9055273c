import { Freshness, type FreshnessView } from '../cache/freshness.ts';
import type { LogEntry, LoggedPurge, PurgeClaim, PurgeListQuery, PurgeLog, PurgeRecord } from '../store/purge-log.ts';
import { storeFault } from '../store/store-errors.ts';

/** Rows deleted per statement by compaction: each is short, and the event loop runs between them. */
const COMPACTION_BATCH = 2000;

export interface CompactionResult {
  floor: number;
  purgesDeleted: number;
  marksDeleted: number;
}

/**
 * The one owner of a node's purge state: the sequence, the marks and the floor (the freshness state every
 * purge is applied to, cache/freshness.ts), the log (store/purge-log.ts) and each purge's status. The
 * coordinator appends and completes purges through it, a cluster's follower applies the other nodes' purges
 * through it, retention compacts through it; caches only read the freshness state (`view`), and hear of
 * applied purges (`onApplied`) to free the space they made stale.
 *
 * Invariant: a purge is applied here the moment its append is durable, before it is acknowledged. The log
 * numbers it and writes its marks in that same transaction, so a node that starts (or restarts after a
 * crash) loads every acknowledged purge with the marks, before it serves anything.
 */
export class PurgeLedger {
  private readonly freshness: Freshness;
  /** Completions not durable yet: read from here at once, while the log catches up. */
  private readonly completing = new Map<string, PurgeRecord>();
  private readonly writes = new Set<Promise<void>>();
  private readonly appliedListeners: ((entries: readonly LogEntry[]) => void)[] = [];
  /** The newest sequence number of the snapshot this node started from: a follower goes on after it. */
  readonly openedAt: number;

  private constructor(
    private readonly log: PurgeLog,
    snapshot: { seq: number; marks: [string, number][]; floor: number },
  ) {
    this.freshness = new Freshness(snapshot.marks, snapshot.seq, snapshot.floor);
    this.openedAt = this.freshness.current();
  }

  static async open(log: PurgeLog): Promise<PurgeLedger> {
    return new PurgeLedger(log, await log.snapshot());
  }

  /** The freshness state, as caches read it. */
  get view(): FreshnessView {
    return this.freshness;
  }

  /** The newest sequence number applied here. */
  current(): number {
    return this.freshness.current();
  }

  /**
   * Logs a purge and applies it here; resolves once both are done. Throws when it is not durable (or not
   * known to be): the purge must not be acknowledged then.
   */
  async append(record: PurgeRecord, scopes: readonly string[], claim: PurgeClaim): Promise<LoggedPurge> {
    let seq: number;
    try {
      seq = await this.log.append(record, scopes, claim);
    } catch (error) {
      throw storeFault(error) ?? error;
    }
    const logged: LoggedPurge = { ...record, seq, scopes: [...scopes], generation: seq };
    this.apply([logged]);
    return logged;
  }

  /** Told of the purges applied here (this node's own, and those the follower applies), once applied. */
  onApplied(listener: (entries: readonly LogEntry[]) => void): void {
    this.appliedListeners.push(listener);
  }

  /** Purges other nodes appended, in log order (cluster/cluster-node.ts). */
  applyEntries(entries: readonly LogEntry[]): void {
    this.apply(entries);
  }

  /**
   * For a node that was away longer than the retention: when compaction has deleted entries after `seq`,
   * applies a new snapshot's marks instead of them and answers the snapshot's sequence number; undefined when
   * every entry after `seq` is still in the log.
   */
  async resync(seq: number): Promise<number | undefined> {
    const snapshot = await this.log.snapshot();
    if (snapshot.floor <= seq) return undefined;
    for (const [scope, mark] of snapshot.marks) if (mark > seq) this.freshness.applyAt([scope], mark);
    this.freshness.applyAt([], snapshot.seq);
    this.freshness.compact(snapshot.floor);
    return snapshot.seq;
  }

  /** A purge's status, ahead of the log while its completion is being written. */
  async get(id: string): Promise<PurgeRecord | undefined> {
    return this.completing.get(id) ?? (await this.read(() => this.log.get(id)));
  }

  async list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    const { records, total } = await this.read(() => this.log.list(query));
    return { records: records.map((stored) => (stored.status === 'pending' ? (this.completing.get(stored.id) ?? stored) : stored)), total };
  }

  /** Pending purges whose coordinator has not completed them in time (it stopped, crashed, or lost the store). */
  claimStale(claim: PurgeClaim, limit: number): Promise<LoggedPurge[]> {
    return this.log.claimStale(claim, limit);
  }

  /**
   * Records a purge's outcome: reported at once, durable soon after. Rejects while the store cannot write it
   * (the caller tries again; a restart finds the purge pending and completes it again).
   */
  async complete(record: PurgeRecord): Promise<void> {
    this.completing.set(record.id, record);
    const write = this.log.complete(record);
    this.writes.add(write);
    try {
      await write;
      this.completing.delete(record.id);
    } finally {
      this.writes.delete(write);
    }
  }

  /**
   * Retention: raises the floor to the newest purge that completed before `cutoff` (persisted first, so a
   * crash in between loses nothing), forgets the marks up to it here, then deletes them and the purges that
   * ended before `cutoff` from the log, a batch at a time.
   */
  async compact(cutoff: number): Promise<CompactionResult> {
    const floor = await this.log.raiseFloor(cutoff);
    this.freshness.compact(floor);
    const marksDeleted = await inBatches((limit) => this.log.deleteMarksUpTo(floor, limit));
    const purgesDeleted = await inBatches((limit) => this.log.deleteEndedBefore(cutoff, limit));
    return { floor, purgesDeleted, marksDeleted };
  }

  /** Adds up to `limit` purges to the log's search index; resolves with how many. */
  indexForSearch(limit: number): Promise<number> {
    return this.log.indexForSearch(limit);
  }

  /** Waits for the completions being written (at stop, before the store closes). */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** Applies purges to the freshness state: one map write per scope, whatever is cached. */
  private apply(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) this.freshness.applyAt(entry.scopes, entry.seq);
    for (const listener of this.appliedListeners) listener(entries);
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw storeFault(error) ?? error;
    }
  }
}

/** Runs `step` with `limit` COMPACTION_BATCH until it answers fewer; the event loop runs between steps. */
async function inBatches(step: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let deleted = COMPACTION_BATCH; deleted === COMPACTION_BATCH; total += deleted) {
    await new Promise((resolve) => setImmediate(resolve));
    deleted = await step(COMPACTION_BATCH);
  }
  return total;
}
