import type { SourceRegistry } from '../sources/registry.ts';
import type { GroupCommit } from '../store/sqlite/group-commit.ts';
import type { PurgeListQuery, PurgeStore } from '../store/sqlite/purge-store.ts';
import type { PurgeApplier } from './purge-applier.ts';
import type { PurgeRecord } from './model.ts';
import { assetPurgeRecord, purgeRecord, sourcePurgeRecord } from './purge-request.ts';
import type { AcceptedPurge, PurgeRequest, Purges } from './purges.ts';

/**
 * Purges on one node (SQLite): a purge is durable once its row is committed (group commit: one fsync for a
 * burst), then the applier applies it here and on the edges. A repeat of a purge that has not taken effect
 * yet returns the same purge.
 *
 * State: rows in the store; purges being applied in the applier's live map (ahead of their rows until
 * their completion is committed). `get` and `list` merge the two, so no reader has to.
 */
export class LocalPurges implements Purges {
  /** Purges not yet applied, by what they purge, so a repeat returns the same purge. */
  private readonly queued = new Map<string, { record: PurgeRecord; durable: Promise<void> }>();

  constructor(
    private readonly sources: SourceRegistry,
    private readonly store: PurgeStore,
    private readonly commits: GroupCommit,
    private readonly applier: PurgeApplier,
  ) {
    applier.onApplying((record) => {
      const key = dedupeKey(record);
      if (this.queued.get(key)?.record === record) this.queued.delete(key);
    });
  }

  /** Re-queues purges that were acknowledged but not applied before a stop or crash. */
  recover(): number {
    const pending = this.store.pending();
    this.applier.recover(pending);
    for (const record of pending) this.queued.set(dedupeKey(record), { record, durable: Promise.resolve() });
    return pending.length;
  }

  async purge(request: PurgeRequest): Promise<AcceptedPurge> {
    return this.accept(purgeRecord(this.sources, request));
  }

  async purgeAsset(sourceId: string, path: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(assetPurgeRecord(this.sources, sourceId, path, requestedBy));
  }

  async purgeSource(sourceId: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(sourcePurgeRecord(this.sources, sourceId, requestedBy));
  }

  private async accept(record: PurgeRecord): Promise<AcceptedPurge> {
    const key = dedupeKey(record);
    const existing = this.queued.get(key);
    if (existing) {
      await existing.durable;
      return { record: existing.record, coalesced: true };
    }
    const durable = this.commits.commit(() => this.store.insert(record));
    this.queued.set(key, { record, durable });
    try {
      await durable;
    } catch (error) {
      this.queued.delete(key);
      throw error;
    }
    this.applier.enqueue(record);
    return { record, coalesced: false };
  }

  async get(id: string): Promise<PurgeRecord | undefined> {
    return this.applier.inFlight(id) ?? this.store.get(id);
  }

  async list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    const { records, total } = this.store.list(query);
    return { records: records.map((stored) => (stored.status === 'pending' ? (this.applier.inFlight(stored.id) ?? stored) : stored)), total };
  }

  get depth(): number {
    return this.applier.depth;
  }

  stop(): Promise<void> {
    return this.applier.stop();
  }
}

function dedupeKey(record: PurgeRecord): string {
  return [record.match, record.sourceId, record.path, record.subImage ? 1 : 0, record.parentSourceId ?? ''].join('\n');
}
