import type { NodeState, NodeStates } from '../node-states.ts';
import { getMeta, setMeta, type Db } from './db.ts';
import type { SqlitePurgeLog } from './purge-log.ts';

/** The `meta` key naming the node that last served the data directory. */
const NODE_META = 'node_id';

/**
 * The node of a data directory: the server that appends to its purge log, the only one that applies it.
 * Its place in the log is kept in memory: it lasts as long as the process. No other node completes a purge
 * without it, so its lease never runs out and it is never fenced. Its id is also written to the database, so
 * that a process beside it or after it (`pictor status --data`) lists it: it applies each purge as it appends
 * it (cluster/membership.ts, SoleNode), so it is at the log's head whenever it is not in the middle of one.
 */
export class SqliteNodeStates implements NodeStates {
  private readonly nodes = new Map<string, { lastApplied: number; urls?: { render: string; admin: string } }>();

  constructor(
    private readonly db: Db,
    private readonly log: SqlitePurgeLog,
  ) {}

  async register(id: string): Promise<void> {
    if (!this.nodes.has(id)) this.nodes.set(id, { lastApplied: 0 });
    setMeta(this.db, NODE_META, id);
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

  /** The node registered in this process; else the one that last served the data directory, at the log's head. */
  async states(): Promise<NodeState[]> {
    if (this.nodes.size > 0) {
      const sorted = [...this.nodes].sort(([a], [b]) => (a < b ? -1 : 1));
      return sorted.map(([id, node]) => ({ id, lastApplied: node.lastApplied, expired: false, fenced: false }));
    }
    const id = getMeta(this.db, NODE_META);
    return id === undefined ? [] : [{ id, lastApplied: await this.log.head(), expired: false, fenced: false }];
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
