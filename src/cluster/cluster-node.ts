import type { PurgeLedger } from '../purge/ledger.ts';
import type { NodeStates } from '../store/node-states.ts';
import { STARTING, type Membership } from './membership.ts';
import { NodeProgress } from './node-progress.ts';

/** How long before the database's end of the lease this node stops trusting it (clock rate, latency). */
const LEASE_MARGIN = 0.1;
/** Nodes fenced and silent this long are forgotten (no longer named in every purge's report). */
const FORGET_NODES_AFTER_SECONDS = 24 * 60 * 60;
/** Renewals between two looks for such nodes. */
const FORGET_EVERY_RENEWALS = 24;

export interface ClusterNodeOptions {
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
 * This node's membership in a cluster: it follows the shared purge log and holds a lease.
 *
 * - **Following.** A dedicated connection listens for new entries; this node's ledger applies them in log
 *   order (PurgeLedger.follow), then the node acknowledges them (NodeStates.ack). A missed notification costs
 *   at most one renewal interval: renewing fails while the node is behind, and makes it catch up.
 * - **Lease.** Renewed every lease/4, and only while the node has applied the whole log and is not fenced.
 *   A coordinator that waits for this node longer than its lease fences it and completes without it.
 * - **Serving.** The node serves only while its own view of the lease holds (the time the renewal was sent,
 *   plus the lease, minus a margin: it ends before the database's) and it has applied every entry it knows
 *   of. Otherwise renders and `/healthz` answer 503, so edges' probes stop sending it traffic, until it has
 *   caught up and rejoined. A fenced node therefore never serves a response older than a completed purge.
 */
export class ClusterNode implements Membership {
  readonly nodes: NodeProgress;
  private listening: { close(): Promise<void> } | undefined;
  private nodeId: string | undefined;
  private leaseValidUntil = 0;
  private fenced = false;
  private catchingUp: Promise<void> | undefined;
  private again = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewals = 0;
  private stopped = false;
  private readonly ackListeners = new Set<() => void>();

  constructor(
    private readonly states: NodeStates,
    private readonly ledger: PurgeLedger,
    private readonly options: ClusterNodeOptions,
  ) {
    this.nodes = new NodeProgress(states, this);
  }

  /**
   * Starts listening, registers, catches up with what was appended since the ledger's snapshot, rejoins if it
   * was fenced, and starts renewing. Resolves when the node may serve.
   */
  async join(id: string): Promise<void> {
    await this.listen();
    this.nodeId = id;
    await this.states.register(id);
    await this.catchUp();
    this.renewTimer = setInterval(() => void this.renew(), (this.options.leaseSeconds * 1000) / 4);
    this.renewTimer.unref();
  }

  /** Records where this node serves (once its listeners are open), for operators reading `nodes`. */
  announce(urls: { render: string; admin: string }): Promise<void> {
    return this.states.announce(this.id, urls);
  }

  /** Why this node must not serve now, or undefined when it may. Cheap: called for every render. */
  unavailableReason(): string | undefined {
    if (this.nodeId === undefined) return STARTING;
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
    this.nodes.close();
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

  private get id(): string {
    if (this.nodeId === undefined) throw new Error('the node has not joined yet');
    return this.nodeId;
  }

  private async applyNewEntries(): Promise<void> {
    await this.acknowledge(await this.ledger.follow());
  }

  /** Acknowledges what it applied; fenced, rejoins once caught up; else takes the lease if it has none. */
  private async acknowledge(applied: number): Promise<void> {
    let { fenced } = await this.states.ack(this.id, applied);
    if (fenced) {
      // Fenced: it was away for at least a lease, maybe longer than the retention, and the entries it missed
      // may be gone from the log. Their marks are not: it resyncs from a snapshot before it rejoins.
      if (await this.ledger.resync()) await this.states.ack(this.id, this.ledger.appliedThrough);
      const sentAt = Date.now();
      fenced = !(await this.states.rejoin(this.id, this.options.leaseSeconds));
      if (!fenced) this.extendLease(sentAt);
    } else if (Date.now() >= this.leaseValidUntil) {
      await this.tryRenew(); // at join, or back from a pause: the lease is taken as soon as the node has caught up
    }
    this.fenced = fenced;
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!(await this.tryRenew())) await this.catchUp(); // behind or fenced: catching up acknowledges, and rejoins when it can
      if (++this.renewals % FORGET_EVERY_RENEWALS === 0) await this.states.forgetGone(FORGET_NODES_AFTER_SECONDS);
    } catch (error) {
      this.options.onError?.(error, 'renewing the lease');
    }
  }

  /** Extends the lease (durably) if the node has applied the whole log and is not fenced. */
  private async tryRenew(): Promise<boolean> {
    const sentAt = Date.now();
    const renewed = await this.states.renew(this.id, this.options.leaseSeconds);
    if (renewed) this.extendLease(sentAt);
    return renewed;
  }

  private extendLease(sentAt: number): void {
    this.leaseValidUntil = sentAt + this.options.leaseSeconds * 1000 * (1 - LEASE_MARGIN);
  }

  private async listen(): Promise<void> {
    const catchUp = (): void => void this.catchUp().catch((error: unknown) => this.options.onError?.(error, 'applying purges'));
    this.listening = await this.ledger.listen({
      appended: catchUp,
      acknowledged: () => {
        for (const listener of this.ackListeners) listener();
      },
      reconnected: catchUp,
      error: (error) => this.options.onError?.(error, 'listening for purges'),
    });
  }
}
