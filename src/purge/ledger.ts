import { Freshness, type FreshnessView } from '../cache/freshness.ts';
import type { LogEntry, LoggedPurge, LogListener, PurgeClaim, PurgeListQuery, PurgeLog, PurgeRecord, SharedLog } from '../store/purge-log.ts';
import { storeFault } from '../store/store-errors.ts';
import type { Outbox } from '../store/webhook-store.ts';

/** Rows deleted per statement by compaction: each is short, and the event loop runs between them. */
const COMPACTION_BATCH = 2000;
/** Entries read per round trip while following a shared log. */
const FOLLOW_BATCH = 500;

export interface CompactionResult {
  floor: number;
  purgesDeleted: number;
  marksDeleted: number;
}

/** How often a request waiting for a purge to settle reads the log again (another node may complete it). */
const SETTLED_RECHECK_MS = 250;

/**
 * The one owner of a node's purge state: the sequence, the marks and the floor (the freshness state every
 * purge is applied to, cache/freshness.ts), the log (store/purge-log.ts) and each purge's status. The
 * coordinator appends and completes purges through it, a cluster's follower applies the other nodes' purges
 * through it, retention compacts through it; caches only read the freshness state (`view`), and hear of the
 * purges that made cached entries stale (`onFollowed`, `onCompleted`) to free the space they take.
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
  /** Requests waiting for a purge to settle (`settled`), woken when this node completes it. */
  private readonly settling = new Map<string, Set<() => void>>();
  /** Set once the API closes: waiting requests are answered at once (`endWaits`). */
  private waitsEnded = false;
  private readonly listeners = {
    logged: [] as ((purge: LoggedPurge) => void)[],
    followed: [] as ((entries: readonly LogEntry[]) => void)[],
    completed: [] as ((purge: LoggedPurge) => void)[],
  };
  /** Of a shared log: the newest sequence number up to which this node has applied every entry, in log order. */
  private followed: number;
  /** Purges this node appended that following has not passed yet: their `matched` was counted at accept. */
  private readonly appended = new Set<number>();
  /** This node's appends not answered yet. */
  private readonly appending = new Set<Promise<number>>();
  private matchCounter: { nodeId: string; count: (sourceId: string, path: string) => number } | undefined;

  private constructor(
    private readonly log: PurgeLog,
    snapshot: { seq: number; marks: [string, number][]; floor: number },
  ) {
    this.freshness = new Freshness(snapshot.marks, snapshot.seq, snapshot.floor);
    this.followed = this.freshness.current();
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
    // Marked as this node's own as soon as its number is known: following may read the entry back (its NOTIFY
    // comes with the commit) before this call resumes, and waits for the appends in flight (see `follow`).
    const appending = this.log.append(record, scopes, claim).then((seq) => {
      if (this.matchCounter) this.appended.add(seq);
      return seq;
    });
    this.appending.add(appending);
    let seq: number;
    try {
      seq = await appending;
    } catch (error) {
      throw storeFault(error) ?? error;
    } finally {
      this.appending.delete(appending);
    }
    const logged: LoggedPurge = { ...record, seq, scopes: [...scopes], generation: seq };
    this.apply([logged]);
    for (const listener of this.listeners.logged) listener(logged);
    return logged;
  }

  /** Told of each purge this node logs, once it is applied here. */
  onLogged(listener: (purge: LoggedPurge) => void): void {
    this.listeners.logged.push(listener);
  }

  /** Told of the purges other nodes logged, once this node has applied them by following the shared log. */
  onFollowed(listener: (entries: readonly LogEntry[]) => void): void {
    this.listeners.followed.push(listener);
  }

  /**
   * Of a shared log: counts, as this node follows the log, the cached entries each exact purge of another node
   * matched here, and records them before the node acknowledges it; the purge's `matched` then covers every
   * node that applied it by its completion.
   */
  countMatches(nodeId: string, count: (sourceId: string, path: string) => number): void {
    this.matchCounter = { nodeId, count };
  }

  /** Told of each purge this node completes, once its completion is recorded. */
  onCompleted(listener: (purge: LoggedPurge) => void): void {
    this.listeners.completed.push(listener);
  }

  /** Whether other nodes append to the log too (a cluster): then this node follows it (cluster/cluster-node.ts). */
  get shared(): boolean {
    return this.log.shared !== undefined;
  }

  /** Of a shared log: the newest sequence number up to which this node has applied every entry, in log order. */
  get appliedThrough(): number {
    return this.followed;
  }

  /** Listens for what other nodes do with a shared log (appends, acknowledgements); closed at stop. */
  listen(listener: LogListener): Promise<{ close(): Promise<void> }> {
    return this.sharedLog().listen(listener);
  }

  /**
   * Applies every entry of a shared log after the last one this node applied, in log order; resolves with the
   * newest sequence number up to which every entry is applied. A node that was away longer than the retention
   * finds entries gone from the log: it applies the marks of a new snapshot instead (`resync`).
   */
  async follow(): Promise<number> {
    for (;;) {
      const entries = await this.sharedLog().after(this.followed, FOLLOW_BATCH);
      if (entries.length > 0 && entries[0]!.seq > this.followed + 1) await this.resync();
      const unseen = entries.filter((entry) => entry.seq > this.followed);
      // An entry this node appended may be read here before its append was answered: once the appends in
      // flight are, `appended` names every one of them, and this node's count is not added a second time.
      if (this.appending.size > 0 && unseen.length > 0) await Promise.allSettled([...this.appending]);
      this.apply(unseen);
      // Counted after applying and before the space is freed (`followed` listeners free it a moment later).
      const matches = this.countMatched(unseen);
      if (unseen.length > 0) for (const listener of this.listeners.followed) listener(unseen);
      this.followed = unseen.at(-1)?.seq ?? this.followed;
      // A count that cannot be written leaves `matched` short; it never holds the purge back.
      if (matches.length > 0) await this.sharedLog().recordMatches(this.matchCounter!.nodeId, matches).catch(() => {});
      if (entries.length < FOLLOW_BATCH) return this.followed;
    }
  }

  /**
   * When compaction has deleted entries this node has not applied, applies a new snapshot's marks instead of
   * them; true if it did. A fenced node does this before it rejoins: it may have been away that long.
   */
  async resync(): Promise<boolean> {
    const snapshot = await this.log.snapshot();
    if (snapshot.floor <= this.followed) return false;
    for (const [scope, mark] of snapshot.marks) if (mark > this.followed) this.freshness.applyAt([scope], mark);
    this.freshness.applyAt([], snapshot.seq);
    this.freshness.compact(snapshot.floor);
    this.followed = snapshot.seq;
    return true;
  }

  /** A purge's status, ahead of the log while its completion is being written. */
  async get(id: string): Promise<PurgeRecord | undefined> {
    return this.completing.get(id) ?? (await this.read(() => this.log.get(id)));
  }

  /**
   * A purge's status once it is no longer pending, or as it stands after `ms`. Completed by this node, it is
   * answered as the completion is recorded; completed by another node of a cluster, at the next read of the
   * log (every SETTLED_RECHECK_MS).
   */
  async settled(id: string, ms: number): Promise<PurgeRecord | undefined> {
    const deadline = performance.now() + ms;
    for (;;) {
      const record = await this.get(id);
      const left = deadline - performance.now();
      if (record?.status !== 'pending' || left <= 0 || this.waitsEnded) return record;
      await this.completionOf(id, Math.min(left, SETTLED_RECHECK_MS));
    }
  }

  /** Answers every request waiting in `settled` now, and any later one at once: the API is closing. */
  endWaits(): void {
    this.waitsEnded = true;
    for (const waiters of [...this.settling.values()]) for (const wake of [...waiters]) wake();
  }

  /** Resolves when this node completes the purge, or after `ms`. */
  private completionOf(id: string, ms: number): Promise<void> {
    if (this.completing.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.settling.get(id) ?? new Set<() => void>();
      this.settling.set(id, waiters);
      const wake = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0) this.settling.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
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
   * Records a purge's outcome, and the events `outbox` makes of it in the same transaction: reported at once,
   * durable soon after. Rejects while the store cannot write it (the caller tries again; a restart finds the
   * purge pending and completes it again).
   */
  async complete(record: LoggedPurge, outbox?: Outbox<PurgeRecord>): Promise<void> {
    this.completing.set(record.id, record);
    for (const wake of [...(this.settling.get(record.id) ?? [])]) wake();
    const write = this.log.complete(record, outbox);
    this.writes.add(write);
    try {
      await write;
      this.completing.delete(record.id);
    } finally {
      this.writes.delete(write);
    }
    for (const listener of this.listeners.completed) listener(record);
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
  /** This node's count of each exact purge in `entries` that another node appended (non-zero ones only). */
  private countMatched(entries: readonly LogEntry[]): { seq: number; matched: number }[] {
    const counter = this.matchCounter;
    if (!counter) return [];
    const counts: { seq: number; matched: number }[] = [];
    for (const entry of entries) {
      if (this.appended.delete(entry.seq) || entry.match !== 'exact') continue;
      const matched = counter.count(entry.sourceId, entry.path);
      if (matched > 0) counts.push({ seq: entry.seq, matched });
    }
    return counts;
  }

  private apply(entries: readonly LogEntry[]): void {
    for (const entry of entries) this.freshness.applyAt(entry.scopes, entry.seq);
  }

  private sharedLog(): SharedLog {
    if (!this.log.shared) throw new Error('this node is the only writer of its purge log: there is nothing to follow');
    return this.log.shared;
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
