import type { PurgeCoordinator } from '../cluster/coordinator.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { PgPurgeLog } from '../store/postgres/purge-log.ts';
import type { PurgeListQuery } from '../store/sqlite/purge-store.ts';
import { storeFault } from '../store/store-errors.ts';
import type { PurgeRecord } from './model.ts';
import { assetPurgeRecord, purgeRecord, scopeOf, sourcePurgeRecord } from './purge-request.ts';
import type { AcceptedPurge, PurgeRequest, Purges } from './purges.ts';

/**
 * Purges in a cluster: a purge is one row of the PostgreSQL purge log, acknowledged once committed, and
 * driven to `completed` by the node that accepted it (cluster/coordinator.ts). The log is the one owner of
 * purge state: every node reads a purge's status from it, so any node answers for any purge.
 *
 * Repeats are not coalesced: each purge is its own log entry, as cheap to apply as a lookup.
 */
export class ClusterPurges implements Purges {
  constructor(
    private readonly sources: SourceRegistry,
    private readonly log: PgPurgeLog,
    private readonly coordinator: PurgeCoordinator,
    private readonly options: { nodeId: () => string; claimMs: number; matched: (record: PurgeRecord) => number | undefined },
  ) {}

  purge(request: PurgeRequest): Promise<AcceptedPurge> {
    return this.accept(purgeRecord(this.sources, request));
  }

  purgeAsset(sourceId: string, path: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(assetPurgeRecord(this.sources, sourceId, path, requestedBy));
  }

  purgeSource(sourceId: string, requestedBy: string | undefined): Promise<AcceptedPurge> {
    return this.accept(sourcePurgeRecord(this.sources, sourceId, requestedBy));
  }

  private async accept(record: PurgeRecord): Promise<AcceptedPurge> {
    const scopes = [scopeOf(record)];
    record.matched = this.options.matched(record);
    let seq: number;
    try {
      seq = await this.log.append(record, scopes, this.options.nodeId(), this.options.claimMs);
    } catch (error) {
      // Not committed (or not known to be): not acknowledged. A commit whose answer was lost is still
      // completed by the sweep; the caller's retry is then a second, harmless purge.
      throw storeFault(error) ?? error;
    }
    const logged = { ...record, seq, scopes, generation: seq };
    this.coordinator.drive(logged);
    return { record: logged, coalesced: false };
  }

  async get(id: string): Promise<PurgeRecord | undefined> {
    try {
      return await this.log.get(id);
    } catch (error) {
      throw storeFault(error) ?? error;
    }
  }

  async list(query: PurgeListQuery): Promise<{ records: PurgeRecord[]; total: number }> {
    try {
      return await this.log.list(query);
    } catch (error) {
      throw storeFault(error) ?? error;
    }
  }

  get depth(): number {
    return this.coordinator.depth;
  }

  stop(): Promise<void> {
    return this.coordinator.stop();
  }
}
