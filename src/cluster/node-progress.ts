import type { NodesPhase } from '../purge/coordinator.ts';
import type { NodeStates } from '../store/node-states.ts';
import type { PurgeReport } from '../store/purge-log.ts';

/** How often waiting purges look again without an acknowledgement to wake them (a lease may run out). */
const POLL_MS = 200;

interface Waiter {
  seq: number;
  resolve: (report: PurgeReport['nodes']) => void;
  reject: (error: unknown) => void;
}

/** Where acknowledgements are heard: every node's (cluster-node.ts), or this one's alone (membership.ts). */
export interface Acknowledgements {
  /** Calls `listener` whenever some node acknowledges purges; returns the function that stops it. */
  onAck(listener: () => void): () => void;
}

/**
 * The nodes step of the purges this node coordinates (purge/coordinator.ts): a purge waits here until every
 * node has applied it or been fenced (its lease ran out first). One read of the nodes' states answers every
 * waiting purge, so an acknowledgement costs one query however many purges are in flight.
 */
export class NodeProgress implements NodesPhase {
  private waiters: Waiter[] = [];
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly nodes: NodeStates,
    acks: Acknowledgements,
  ) {
    this.unsubscribe = acks.onAck(() => this.check());
  }

  /** Resolves once every node has applied `seq` or been fenced, with which did which. */
  applied(seq: number): Promise<PurgeReport['nodes']> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.check();
    });
  }

  /** Fails every waiting purge (they stay pending in the log) and stops listening. */
  close(): void {
    this.unsubscribe();
    clearTimeout(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('stopping'));
  }

  private check(): void {
    if (this.waiters.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.round().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.check();
      } else if (this.waiters.length > 0) {
        this.timer = setTimeout(() => this.check(), POLL_MS);
        this.timer.unref();
      }
    });
  }

  private async round(): Promise<void> {
    const waiting = [...this.waiters];
    const newest = Math.max(...waiting.map((waiter) => waiter.seq));
    try {
      const states = await this.nodes.states();
      for (const state of states) {
        if (!state.fenced && state.lastApplied < newest && state.expired && (await this.nodes.fence(state.id, newest))) state.fenced = true;
      }
      for (const waiter of waiting) {
        if (!states.every((state) => state.fenced || state.lastApplied >= waiter.seq)) continue;
        this.remove(waiter);
        waiter.resolve({
          applied: states.filter((state) => state.lastApplied >= waiter.seq).map((state) => state.id),
          fenced: states.filter((state) => state.fenced && state.lastApplied < waiter.seq).map((state) => state.id),
        });
      }
    } catch (error) {
      // The database cannot be read: each purge retries on its own schedule.
      for (const waiter of waiting) {
        this.remove(waiter);
        waiter.reject(error);
      }
    }
  }

  private remove(waiter: Waiter): void {
    this.waiters = this.waiters.filter((entry) => entry !== waiter);
  }
}
