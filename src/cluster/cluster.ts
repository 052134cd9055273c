import { Freshness } from '../cache/freshness.ts';
import type { DiskStore } from '../cache/disk-store.ts';
import { assetGroup } from '../cache/layout.ts';
import type { OriginCache } from '../cache/origin-cache.ts';
import type { PurgeRecord, PurgeReport } from '../purge/model.ts';
import { ClusterPurges } from '../purge/cluster-purges.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { PgPool } from '../store/postgres/database.ts';
import { PgNodeStore } from '../store/postgres/node-store.ts';
import { PgPurgeLog } from '../store/postgres/purge-log.ts';
import { ClusterNode } from './cluster-node.ts';
import { PurgeCoordinator } from './coordinator.ts';

export interface ClusterOptions {
  pool: PgPool;
  databaseUrl: string;
  leaseSeconds: number;
  serveWhenIsolated: boolean;
  onError: (error: unknown, during: string) => void;
}

export interface ClusterPurgeDeps {
  sources: SourceRegistry;
  originCache: OriginCache;
  disk: DiskStore<unknown>;
  edges: (scopes: readonly string[]) => Promise<PurgeReport['edges']>;
  onCompleted: (record: PurgeRecord) => void;
  onError: (error: unknown, record: PurgeRecord) => void;
}

/**
 * This node's part in a cluster, in the order the rules need: listen and read the snapshot (`open`), build
 * freshness from it, catch up and take the lease (`join`) before the listeners open, then accept and
 * coordinate purges.
 */
export class Cluster {
  readonly freshness: Freshness;
  private coordinator: PurgeCoordinator | undefined;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly log: PgPurgeLog,
    private readonly nodes: PgNodeStore,
    readonly node: ClusterNode,
    snapshot: { seq: number; marks: [string, number][]; floor: number },
  ) {
    // Sequence numbers come from the log: nothing to reserve locally.
    this.freshness = new Freshness(snapshot.marks, snapshot.seq, () => {}, snapshot.floor);
  }

  static async open(options: ClusterOptions): Promise<Cluster> {
    const log = new PgPurgeLog(options.pool);
    const nodes = new PgNodeStore(options.pool);
    const node = new ClusterNode(log, nodes, {
      databaseUrl: options.databaseUrl,
      leaseSeconds: options.leaseSeconds,
      serveWhenIsolated: options.serveWhenIsolated,
      onError: options.onError,
    });
    return new Cluster(options, log, nodes, node, await node.open());
  }

  /** The purge API's implementation on this node; frees local cache space as entries are applied. */
  purges(deps: ClusterPurgeDeps): ClusterPurges {
    const { leaseSeconds } = this.options;
    // Longer than the longest a live coordinator takes (a lease, then the edges' tries): past it, another
    // node drives the purge.
    const claimMs = leaseSeconds * 1000 + 3000;
    // Stale entries are never served; this only frees space, as on a single node.
    this.node.onApplied = (entry) => {
      if (entry.match === 'exact') deps.originCache.dropAsset(entry.sourceId, entry.path, entry.seq);
      else if (entry.match === 'source') deps.disk.dropGroup(entry.sourceId);
    };
    this.coordinator = new PurgeCoordinator(this.log, this.nodes, this.node, {
      leaseSeconds,
      claimMs,
      verdict: async (record) => {
        const source = deps.sources.get(record.sourceId);
        return source ? deps.originCache.verdict(source.record, source.origin, record.path) : undefined;
      },
      edges: deps.edges,
      onCompleted: deps.onCompleted,
      onError: deps.onError,
    });
    return new ClusterPurges(deps.sources, this.log, this.coordinator, {
      nodeId: () => this.node.id,
      claimMs,
      matched: (record) => (record.match === 'exact' ? deps.disk.countGroup(assetGroup(record.sourceId, record.path)) : undefined),
    });
  }

  /** Catches up with the log and takes the lease as `nodeId`; from then on this node may serve. */
  async join(nodeId: string): Promise<void> {
    await this.node.join(this.freshness, nodeId);
    this.coordinator?.start();
  }

  announce(urls: { render: string; admin: string }): Promise<void> {
    return this.node.announce(urls);
  }

  /** The purge log, as retention compacts it. */
  get retentionStore(): PgPurgeLog {
    return this.log;
  }

  unavailableReason(): string | undefined {
    return this.node.unavailableReason();
  }

  async stop(): Promise<void> {
    await this.coordinator?.stop();
    await this.node.stop();
  }
}
