import type { NodeState, NodeStates } from '../node-states.ts';
import type { SqlitePurgeLog } from './purge-log.ts';

/**
 * The node of a data directory: the server that appends to its purge log, the only one that applies it.
 * Kept in memory: it lasts as long as the process. No other node completes a purge without it, so its lease
 * never runs out and it is never fenced.
 */
export class SqliteNodeStates implements NodeStates {
  private readonly nodes = new Map<string, { lastApplied: number; urls?: { render: string; admin: string } }>();

  constructor(private readonly log: SqlitePurgeLog) {}

  async register(id: string): Promise<void> {
    if (!this.nodes.has(id)) this.nodes.set(id, { lastApplied: 0 });
  }

  async announce(id: string, urls: { render: string; admin: string }): Promise<void> {
    const node = this.nodes.get(id);
    if (node) node.urls = urls;
  }

  async ack(id: string, seq: number): Promise<{ fenced: boolean }> {
    const node = this.nodes.get(id);
    if (!node) return { fenced: true };
    node.lastApplied = Math.max(node.lastApplied, seq);
    return { fenced: false };
  }

  async renew(id: string): Promise<boolean> {
    return this.caughtUp(id);
  }

  async rejoin(id: string): Promise<boolean> {
    return this.caughtUp(id);
  }

  async states(): Promise<NodeState[]> {
    const sorted = [...this.nodes].sort(([a], [b]) => (a < b ? -1 : 1));
    return sorted.map(([id, node]) => ({ id, lastApplied: node.lastApplied, expired: false, fenced: false }));
  }

  async fence(): Promise<boolean> {
    return false;
  }

  async forgetGone(): Promise<number> {
    return 0;
  }

  private async caughtUp(id: string): Promise<boolean> {
    const node = this.nodes.get(id);
    return node !== undefined && node.lastApplied >= (await this.log.head());
  }
}
