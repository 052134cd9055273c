import type { Freshness } from '../cache/freshness.ts';
import { assetGroup } from '../cache/layout.ts';
import type { DiskStore } from '../cache/disk-store.ts';
import type { OriginCache } from '../cache/origin-cache.ts';
import { isPictorError } from '../errors.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { GroupCommit } from '../store/sqlite/group-commit.ts';
import type { PurgeStore } from '../store/sqlite/purge-store.ts';
import { storeFault } from '../store/store-errors.ts';
import type { OriginVerdict, PurgeRecord, PurgeReport } from './model.ts';
import { scopeOf } from './purge-request.ts';

/** First delay before trying again while the store cannot write; it doubles up to STORE_RETRY_MAX_MS. */
const STORE_RETRY_MS = 500;
const STORE_RETRY_MAX_MS = 8000;

export interface ApplierOptions {
  concurrency: number;
  /** Delays between attempts to reach an origin that failed; then the purge is `failed`. */
  retryDelaysMs: readonly number[];
  onCompleted?: (record: PurgeRecord) => void;
  /**
   * Takes an applied purge beyond this node (the edges), before it is reported completed: an edge must not
   * refetch from a node that still serves the old bytes, and a client must not read `completed` while an
   * edge still does. Never rejects: what it could not reach, its report names.
   */
  propagate?: (record: PurgeRecord, scopes: readonly string[]) => Promise<PurgeReport>;
  onError?: (error: unknown, record: PurgeRecord) => void;
}

/**
 * Applies purges: asks the origin what changed (the `origin` verdict), then applies the purge as one
 * sequence bump (see cache/freshness.ts), records it as completed (on disk with the next commit), and
 * leaves file deletion to the background. The bump is O(1) whatever is cached.
 */
export class PurgeApplier {
  private readonly queue: PurgeRecord[] = [];
  /** Every purge queued or running, by id, so a status read never scans the queue. */
  private readonly live = new Map<string, PurgeRecord>();
  private readonly applyingListeners: ((record: PurgeRecord) => void)[] = [];
  private workers = 0;
  /** Purges applied whose completion is not on disk yet. */
  private unsettled = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  /** Work waiting for the store to write again (see `later`). */
  private readonly retries = new Set<{ timer: NodeJS.Timeout; run: () => void }>();
  private storeRetries = 0;

  constructor(
    private readonly freshness: Freshness,
    private readonly sources: SourceRegistry,
    private readonly originCache: OriginCache,
    private readonly disk: DiskStore<unknown>,
    private readonly store: PurgeStore,
    private readonly commits: GroupCommit,
    private readonly options: ApplierOptions,
  ) {}

  /**
   * Called just before a purge takes effect. Until then a repeat may join it; from then on a repeat must
   * be a purge of its own, or an origin change made after this bump could be missed.
   */
  onApplying(listener: (record: PurgeRecord) => void): void {
    this.applyingListeners.push(listener);
  }

  /**
   * Purges acknowledged before a crash: their scopes are made stale at once, before the server answers
   * anything, then they are applied in full (verdict, completion) like any other.
   */
  recover(pending: PurgeRecord[]): void {
    if (pending.length === 0) return;
    const scopes = pending.map(scopeOf);
    const seq = this.freshness.bump(scopes);
    this.store.saveMarks(scopes, seq);
    for (const record of pending) this.enqueue(record);
  }

  enqueue(record: PurgeRecord): void {
    if (this.stopping) return; // stays pending on disk; applied after the restart
    this.queue.push(record);
    this.live.set(record.id, record);
    this.pump();
  }

  /** The in-memory state of a purge still being applied. */
  inFlight(id: string): PurgeRecord | undefined {
    return this.live.get(id);
  }

  /** Purges acknowledged and not yet completed (queued or running). */
  get depth(): number {
    return this.live.size - this.unsettled;
  }

  /** Stops taking queued purges and waits for the running ones; queued ones stay pending on disk. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const record of this.queue.splice(0)) this.live.delete(record.id);
    // Work waiting for the store gets one last try now (the store may be writable again): a completion that
    // still cannot be written stays pending on disk, and is applied again after the restart.
    const waiting = [...this.retries];
    this.retries.clear();
    for (const retry of waiting) {
      clearTimeout(retry.timer);
      retry.run();
    }
    await this.idle();
  }

  /** Resolves when nothing is queued, running, or waiting for its completion to reach the disk. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.workers < this.options.concurrency && this.queue.length > 0) {
      const record = this.queue.shift()!;
      this.workers++;
      void this.apply(record).finally(() => {
        this.workers--;
        if (!this.stopping) this.pump();
        this.wakeIdleWaiters();
      });
    }
  }

  private isIdle(): boolean {
    return this.workers === 0 && this.queue.length === 0 && this.unsettled === 0 && this.retries.size === 0;
  }

  private wakeIdleWaiters(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async apply(record: PurgeRecord): Promise<void> {
    let finished: PurgeRecord;
    let scopes: string[] = [];
    try {
      const origin = await this.verdict(record);
      for (const listener of this.applyingListeners) listener(record);
      scopes = [scopeOf(record)];
      const matched = record.match === 'exact' ? this.disk.countGroup(assetGroup(record.sourceId, record.path)) : undefined;
      const generation = this.freshness.bump(scopes);
      const report = await this.options.propagate?.(record, scopes);
      finished = { ...record, status: 'completed', origin, matched, generation, report, completedAt: Date.now() };
    } catch (error) {
      if (storeFault(error)) {
        // The sequence could not be reserved on disk, so nothing took effect: the purge stays pending
        // (acknowledged, on disk) and is tried again once the store can write.
        this.options.onError?.(error, record);
        this.later(() => this.enqueueAgain(record));
        return;
      }
      for (const listener of this.applyingListeners) listener(record);
      this.options.onError?.(error, record);
      const reason = isPictorError(error) ? error.message : 'the origin could not be reached';
      finished = { ...record, status: 'failed', error: reason, completedAt: Date.now() };
    }
    // The bump has taken effect in every tier, so the status says so now (status reads find the record in
    // `live` until its completion is on disk). The completion rides along with the next commit, and the
    // worker moves on without waiting for it: if a crash loses it, the purge is still pending on disk, and
    // recovery makes its scopes stale again before the restarted server answers anything, then applies it
    // again.
    Object.assign(record, finished);
    if (finished.status === 'completed') this.options.onCompleted?.(record);
    this.unsettled++;
    this.settle(record, finished, scopes);
  }

  /** Records the outcome on disk; while the store cannot write, tries again (the purge stays `live`). */
  private settle(record: PurgeRecord, finished: PurgeRecord, scopes: string[]): void {
    const done = (): void => {
      this.live.delete(record.id);
      this.unsettled--;
      this.wakeIdleWaiters();
    };
    this.commits.commitSoon(() => this.store.finish(finished, scopes)).then(
      () => {
        // Stale entries are never served, so this only frees space; it waits until the completion is on
        // disk, because forgetting 10,000 index entries is event-loop work, best kept out of the moment a
        // client reads `completed`. Prefix purges leave it to reads and LRU.
        this.storeRetries = 0;
        if (finished.status === 'completed' && record.match === 'exact') this.originCache.dropAsset(record.sourceId, record.path, finished.generation!);
        if (finished.status === 'completed' && record.match === 'source') this.disk.dropGroup(record.sourceId);
        done();
      },
      (error: unknown) => {
        this.options.onError?.(error, record);
        // Stays pending on disk and is applied again after a restart; the bump above already took effect.
        if (!storeFault(error) || !this.later(() => this.settle(record, finished, scopes))) done();
      },
    );
  }

  private enqueueAgain(record: PurgeRecord): void {
    if (this.stopping) {
      this.live.delete(record.id); // pending on disk: applied after the restart
      this.wakeIdleWaiters();
      return;
    }
    this.queue.push(record);
    this.pump();
  }

  /**
   * Runs `retry` after a delay that grows while the store keeps failing (at once if the applier stops
   * meanwhile). False when already stopping: nothing is scheduled.
   */
  private later(retry: () => void): boolean {
    if (this.stopping) return false;
    const delay = Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_MS * 2 ** Math.min(this.storeRetries++, 4));
    const timer = setTimeout(() => {
      this.retries.delete(entry);
      retry();
    }, delay);
    const entry = { timer, run: retry };
    this.retries.add(entry);
    return true;
  }

  /** What the origin says now; origin failures are retried, then fail the purge. */
  private async verdict(record: PurgeRecord): Promise<OriginVerdict | undefined> {
    if (record.match !== 'exact') return undefined;
    const source = this.sources.get(record.sourceId);
    if (!source) return undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.originCache.verdict(source.record, source.origin, record.path);
      } catch (error) {
        // The origin answered, but refuses the asset (a symlink now leaving the root, a file over the size
        // limit): what was cached no longer reflects it, so the purge goes ahead.
        if (isPictorError(error) && error.status < 500) return error.status === 403 ? 'removed' : 'replaced';
        const delay = this.options.retryDelaysMs[attempt];
        if (delay === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
