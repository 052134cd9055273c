import type { EdgePurgeState, EdgePurgeStore, EdgePurgeUpdate } from '../edge-purge-store.ts';
import type { Db } from './db.ts';

interface Row {
  purge_id: string;
  edge: string;
  kind: string;
  state: EdgePurgeState['state'];
  vendor_id: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export class SqliteEdgePurgeStore implements EdgePurgeStore {
  constructor(private readonly db: Db) {}

  async begin(purgeId: string, edges: Parameters<EdgePurgeStore['begin']>[1], at: number, leaseMs: number): Promise<{ states: EdgePurgeState[]; taken: Set<string> }> {
    const insert = this.db.prepare(
      `INSERT INTO edge_purges (purge_id, edge, kind, state, last_error, next_attempt_at, created_at, updated_at, held_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (purge_id, edge) DO NOTHING`,
    );
    const taken = new Set<string>();
    this.db.transaction(() => {
      for (const edge of edges) {
        const pending = edge.state === 'pending';
        const added = insert.run(purgeId, edge.edge, edge.kind, edge.state, edge.lastError ?? null, at, at, at, pending ? at + leaseMs : 0).changes === 1;
        if (added && pending) taken.add(edge.edge);
      }
    })();
    return { states: await this.list(purgeId), taken };
  }

  async list(purgeId: string): Promise<EdgePurgeState[]> {
    return (this.db.prepare('SELECT * FROM edge_purges WHERE purge_id = ? ORDER BY edge').all(purgeId) as Row[]).map(toState);
  }

  async take(purgeId: string, edge: string, now: number, leaseMs: number): Promise<EdgePurgeState | undefined> {
    const rows = this.db
      .prepare(
        `UPDATE edge_purges SET held_until = ? WHERE purge_id = ? AND edge = ? AND state = 'pending' AND next_attempt_at <= ? AND held_until <= ?
         RETURNING *`,
      )
      .all(now + leaseMs, purgeId, edge, now, now) as Row[];
    return rows[0] && toState(rows[0]);
  }

  async settle(update: EdgePurgeUpdate, at: number): Promise<boolean> {
    return this.db
      .prepare(
        `UPDATE edge_purges SET state = ?, vendor_id = ?, attempts = ?, next_attempt_at = ?, last_error = ?, held_until = 0, updated_at = ?
         WHERE purge_id = ? AND edge = ? AND state = 'pending'`,
      )
      .run(update.state, update.vendorId, update.attempts, update.nextAttemptAt, update.lastError, at, update.purgeId, update.edge).changes === 1;
  }

  async lastPurged(edges: readonly string[]): Promise<Map<string, number>> {
    const last = this.db.prepare("SELECT MAX(updated_at) AS at FROM edge_purges WHERE edge = ? AND state = 'purged'");
    const found = new Map<string, number>();
    for (const edge of edges) {
      const { at } = last.get(edge) as { at: number | null };
      if (at !== null) found.set(edge, at);
    }
    return found;
  }

  async deleteBefore(cutoff: number, limit: number): Promise<number> {
    return this.db
      .prepare('DELETE FROM edge_purges WHERE (purge_id, edge) IN (SELECT purge_id, edge FROM edge_purges WHERE created_at < ? LIMIT ?)')
      .run(cutoff, limit).changes;
  }
}

function toState(row: Row): EdgePurgeState {
  return {
    purgeId: row.purge_id,
    edge: row.edge,
    kind: row.kind,
    state: row.state,
    vendorId: row.vendor_id,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export { toState as edgePurgeState };
