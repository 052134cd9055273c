import type { OriginVerdict, PurgeRecord, PurgeReport } from '../purge/model.ts';
import type { PgNodeStore } from '../store/postgres/node-store.ts';
import type { PgPurgeLog } from '../store/postgres/purge-log.ts';
import type { ClusterNode } from './cluster-node.ts';
import { NodeProgress } from './node-progress.ts';

/** How often every node looks for purges whose coordinator did not finish them. */
const SWEEP_MS = 1000;
const RETRY_MS = 500;
/** Nodes fenced and silent this long are forgotten (no longer named in every purge's report). */
const FORGET_NODES_AFTER_SECONDS = 24 * 60 * 60;
/** Sweeps between two looks for such nodes. */
const FORGET_EVERY_SWEEPS = 60;

export type LoggedPurge = PurgeRecord & { seq: number; scopes: string[] };

export interface CoordinatorOptions {
  leaseSeconds: number;
  /** How long a coordinator's claim on a purge lasts: past it, another node drives the purge. */
  claimMs: number;
  /** Asks the origin what changed (exact purges); informational, it never holds a purge back. */
  verdict: (record: PurgeRecord) => Promise<OriginVerdict | undefined>;
  /** Takes the purge to the edges, after every node has applied it. */
  edges: (scopes: readonly string[]) => Promise<PurgeReport['edges']>;
  onCompleted?: (record: PurgeRecord) => void;
  onError?: (error: unknown, record: PurgeRecord) => void;
}

/**
 * Drives a purge from "in the log" to `completed`: every node whose lease is live has applied it (a node
 * whose lease runs out first is fenced), **then** every in-rotation edge has purged it — edges after nodes,
 * so an edge refetching at once cannot get the old bytes from a node. Each step is idempotent, so a purge
 * whose coordinator died is driven again, from the start, by whichever node claims it (`sweep`).
 */
export class PurgeCoordinator {
  private readonly driving = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private sweeps = 0;
  private readonly progress: NodeProgress;

  constructor(
    private readonly log: PgPurgeLog,
    private readonly nodes: PgNodeStore,
    private readonly node: ClusterNode,
    private readonly options: CoordinatorOptions,
  ) {
    this.progress = new NodeProgress(nodes, node);
  }

  /** Purges this node is driving now. */
  get depth(): number {
    return this.driving.size;
  }

  start(): void {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Drives a purge in the background; never rejects (failures are retried until it completes or we stop). */
  drive(record: LoggedPurge): void {
    if (this.driving.has(record.id) || this.stopped) return;
    this.driving.add(record.id);
    void this.run(record).finally(() => {
      this.driving.delete(record.id);
      if (this.driving.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /**
   * Stops sweeping and gives the purges being driven until their nodes' leases could run out; what is not
   * completed by then stays pending in the log and another node (or this one, restarted) finishes it.
   */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    const idle = new Promise<void>((resolve) => (this.driving.size === 0 ? resolve() : this.idleWaiters.push(resolve)));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.leaseSeconds * 1000 + 1500).unref());
    await Promise.race([idle, timeout]);
    this.stopped = true;
    this.progress.close();
  }

  private async run(record: LoggedPurge): Promise<void> {
    const verdict = record.match === 'exact' ? this.options.verdict(record).catch(() => undefined) : Promise.resolve(undefined);
    for (;;) {
      try {
        const nodes = await this.progress.wait(record.seq);
        const edges = await this.options.edges(record.scopes);
        const completed: PurgeRecord = { ...record, status: 'completed', origin: await verdict, report: { nodes, edges }, completedAt: Date.now() };
        await this.log.complete(completed);
        this.options.onCompleted?.(completed);
        return;
      } catch (error) {
        this.options.onError?.(error, record);
        if (this.stopped) return; // pending in the log: finished after a restart or by another node
        await sleep(RETRY_MS);
      }
    }
  }

  /** Claims and drives purges whose coordinator has not completed them within its claim. */
  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const record of await this.log.claimStale(this.node.id, this.options.claimMs, 20)) this.drive(record);
      if (++this.sweeps % FORGET_EVERY_SWEEPS === 0) await this.nodes.forgetGone(FORGET_NODES_AFTER_SECONDS);
    } catch {
      // the database is unreachable: the next sweep tries again
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
