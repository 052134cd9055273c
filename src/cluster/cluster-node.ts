import type { Freshness } from '../cache/freshness.ts';
import type { PgNodeStore } from '../store/postgres/node-store.ts';
import { listen, type Listening } from '../store/postgres/listener.ts';
import { ACK_CHANNEL, PURGE_CHANNEL, type LogEntry, type PgPurgeLog } from '../store/postgres/purge-log.ts';

/** Entries fetched per round trip while catching up. */
const BATCH = 500;
/** How long before the database's end of the lease this node stops trusting it (clock rate, latency). */
const LEASE_MARGIN = 0.1;
/** How long after applying purges their stale cache files are deleted (see `applyNewEntries`). */
const FREE_SPACE_AFTER_MS = 1000;

export interface ClusterNodeOptions {
  databaseUrl: string;
  leaseSeconds: number;
  /**
   * Keep serving from the local cache while the database cannot be reached (availability over freshness):
   * a purge completed meanwhile fences this node, and it may serve what that purge removed until it
   * reconnects and replays the log. Off by default.
   */
  serveWhenIsolated: boolean;
  onError?: (error: unknown, during: string) => void;
}

/**
 * This node's membership in the cluster: it follows the purge log and holds a lease.
 *
 * - **Following.** A dedicated connection LISTENs for new entries; each is applied to the local freshness
 *   state in log order (cache/freshness.ts `applyAt`), then acknowledged (`nodes.last_applied`). A missed
 *   notification costs at most one renewal interval: renewing fails while the node is behind, and makes it
 *   catch up.
 * - **Lease.** Renewed every lease/4, and only while the node has applied the whole log and is not fenced.
 *   A coordinator that waits for this node longer than its lease fences it and completes without it.
 * - **Serving.** The node serves only while its own view of the lease holds (the time the renewal was sent,
 *   plus the lease, minus a margin: it ends before the database's) and it has applied every entry it knows
 *   of. Otherwise renders and `/healthz` answer 503, so edges' probes stop sending it traffic, until it has
 *   caught up and rejoined. A fenced node therefore never serves a response older than a completed purge.
 */
export class ClusterNode {
  private freshness: Freshness | undefined;
  private listening: Listening | undefined;
  private lastApplied = 0;
  private leaseValidUntil = 0;
  private fenced = false;
  private catchingUp: Promise<void> | undefined;
  private again = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly ackListeners = new Set<() => void>();
  /** After an entry is applied and acknowledged: frees the local cache space it made stale. */
  onApplied: (entry: LogEntry) => void = () => {};

  constructor(
    private readonly log: PgPurgeLog,
    private readonly nodes: PgNodeStore,
    private readonly options: ClusterNodeOptions,
  ) {}

  private nodeId = '';

  /** This node's name (`--node-id`), known from `join` on. */
  get id(): string {
    return this.nodeId;
  }

  /**
   * Starts listening, then reads the snapshot to build freshness from: listening first means no entry
   * appended after the snapshot goes unnoticed.
   */
  async open(): Promise<{ seq: number; marks: [string, number][]; floor: number }> {
    await this.connectListener();
    const snapshot = await this.log.snapshot();
    this.lastApplied = snapshot.seq;
    return snapshot;
  }

  /**
   * Joins with freshness built from the snapshot: registers, acknowledges, catches up with what was appended
   * since, rejoins if it was fenced, and starts renewing. Resolves when the node may serve.
   */
  async join(freshness: Freshness, id: string): Promise<void> {
    this.freshness = freshness;
    this.nodeId = id;
    await this.nodes.register(this.id);
    await this.catchUp();
    this.renewTimer = setInterval(() => void this.renew(), (this.options.leaseSeconds * 1000) / 4);
    this.renewTimer.unref();
  }

  /** Records where this node serves (once its listeners are open), for operators reading `nodes`. */
  announce(urls: { render: string; admin: string }): Promise<void> {
    return this.nodes.announce(this.id, urls);
  }

  /** Why this node must not serve now, or undefined when it may. Cheap: called for every render. */
  unavailableReason(): string | undefined {
    // Entries heard of but not applied yet do not stop serving: no purge completes before this node has
    // acknowledged it (or been fenced), and serving until then is what serving a moment earlier would be.
    if (this.options.serveWhenIsolated) return undefined;
    if (this.fenced) return 'this node was fenced from the cluster and is catching up with the purge log';
    if (Date.now() > this.leaseValidUntil) return 'this node cannot confirm with the database that it has every purge (its lease ran out)';
    return undefined;
  }

  /** Called whenever some node acknowledges purges (coordinators wait on this). */
  onAck(listener: () => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.renewTimer);
    await this.catchingUp?.catch(() => {});
    await this.listening?.close();
  }

  /** Applies every entry after the last applied one; one pass at a time, another if asked meanwhile. */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.again = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      try {
        do {
          this.again = false;
          await this.applyNewEntries();
        } while (this.again && !this.stopped);
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  private async applyNewEntries(): Promise<void> {
    const freshness = this.freshness;
    if (!freshness) return;
    const applied: LogEntry[] = [];
    for (;;) {
      const entries = await this.log.after(this.lastApplied, BATCH);
      // A gap: entries this node never applied may have been deleted by retention (it was away that long).
      if (entries.length > 0 && entries[0]!.seq > this.lastApplied + 1) await this.resyncIfCompacted(freshness);
      for (const entry of entries) {
        if (entry.seq <= this.lastApplied) continue;
        freshness.applyAt(entry.scopes, entry.seq);
        this.lastApplied = entry.seq;
        applied.push(entry);
      }
      if (entries.length < BATCH) break;
    }
    let { fenced } = await this.nodes.ack(this.id, this.lastApplied);
    if (fenced) {
      // Fenced: it was away for at least a lease, maybe longer than the retention, and the entries it missed
      // may be gone from the log. Their marks are not: it resyncs from a snapshot before it rejoins.
      if (await this.resyncIfCompacted(freshness)) await this.nodes.ack(this.id, this.lastApplied);
      const sentAt = Date.now();
      fenced = !(await this.nodes.rejoin(this.id, this.options.leaseSeconds));
      if (!fenced) this.extendLease(sentAt);
    } else if (Date.now() >= this.leaseValidUntil) {
      await this.tryRenew(); // at join, or back from a pause: the lease is taken as soon as the node has caught up
    }
    this.fenced = fenced;
    // Freeing the cache space (thousands of files for a popular asset) waits until the purge has had time to
    // complete: it is event-loop work this node would otherwise do while others wait for it.
    if (applied.length > 0) setTimeout(() => applied.forEach((entry) => this.onApplied(entry)), FREE_SPACE_AFTER_MS).unref();
  }

  /** Applies a snapshot if compaction has deleted entries this node had not applied; true if it did. */
  private async resyncIfCompacted(freshness: Freshness): Promise<boolean> {
    const snapshot = await this.log.snapshot();
    if (snapshot.floor <= this.lastApplied) return false;
    for (const [scope, seq] of snapshot.marks) if (seq > this.lastApplied) freshness.applyAt([scope], seq);
    freshness.applyAt([], snapshot.seq);
    freshness.compact(snapshot.floor);
    this.lastApplied = snapshot.seq;
    return true;
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!(await this.tryRenew())) await this.catchUp(); // behind or fenced: catching up acknowledges, and rejoins when it can
    } catch (error) {
      this.options.onError?.(error, 'renewing the lease');
    }
  }

  /** Extends the lease (durably) if the node has applied the whole log and is not fenced. */
  private async tryRenew(): Promise<boolean> {
    const sentAt = Date.now();
    const renewed = await this.nodes.renew(this.id, this.options.leaseSeconds);
    if (renewed) this.extendLease(sentAt);
    return renewed;
  }

  private extendLease(sentAt: number): void {
    this.leaseValidUntil = sentAt + this.options.leaseSeconds * 1000 * (1 - LEASE_MARGIN);
  }

  private async connectListener(): Promise<void> {
    this.listening = await listen(
      this.options.databaseUrl,
      [PURGE_CHANNEL, ACK_CHANNEL],
      (channel) => {
        if (channel === PURGE_CHANNEL) void this.catchUp().catch((error: unknown) => this.options.onError?.(error, 'applying purges'));
        else for (const listener of this.ackListeners) listener();
      },
      {
        onReconnected: () => void this.catchUp().catch((error: unknown) => this.options.onError?.(error, 'applying purges')),
        onError: (error) => this.options.onError?.(error, 'listening for purges'),
      },
    );
  }
}
