import type { EdgePurgeState, EdgePurgeStore, EdgePurgeUpdate } from '../edge-purge-store.ts';
import { edgePurgeState } from '../sqlite/edge-purge-store.ts';
import { Batcher } from './batcher.ts';
import type { PgPool } from './database.ts';

/** Each purge's state at each edge, shared by the nodes: `take` is one conditional UPDATE, so one node tries at a time. */
export class PgEdgePurgeStore implements EdgePurgeStore {
  constructor(private readonly pool: PgPool) {}

  async begin(purgeId: string, edges: Parameters<EdgePurgeStore['begin']>[1], at: number): Promise<EdgePurgeState[]> {
    if (edges.length > 0) {
      await this.pool.query(
        `INSERT INTO edge_purges (purge_id, edge, kind, state, last_error, next_attempt_at, created_at, updated_at)
         SELECT $1, e.edge, e.kind, e.state, e.last_error, $2, $2, $2
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS e(edge, kind, state, last_error)
         ON CONFLICT (purge_id, edge) DO NOTHING`,
        [
          purgeId,
          at,
          edges.map((edge) => edge.edge),
          edges.map((edge) => edge.kind),
          edges.map((edge) => edge.state),
          edges.map((edge) => edge.lastError ?? null),
        ],
      );
    }
    return this.list(purgeId);
  }

  /** Every purge driven reads its states: reads that arrive while one is in flight share the next (batcher.ts). */
  list(purgeId: string): Promise<EdgePurgeState[]> {
    return this.lists.add(purgeId);
  }

  private readonly lists = new Batcher<string, EdgePurgeState[]>(async (purgeIds) => {
    const { rows } = await this.pool.query('SELECT * FROM edge_purges WHERE purge_id = ANY($1::text[]) ORDER BY edge COLLATE "C"', [[...new Set(purgeIds)]]);
    const byPurge = new Map<string, EdgePurgeState[]>();
    for (const row of rows) {
      const state = edgePurgeState(row);
      const states = byPurge.get(state.purgeId) ?? [];
      if (states.length === 0) byPurge.set(state.purgeId, states);
      states.push(state);
    }
    return purgeIds.map((id) => byPurge.get(id) ?? []);
  }, 256);

  async take(purgeId: string, edge: string, now: number, leaseMs: number): Promise<EdgePurgeState | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE edge_purges SET held_until = $1 WHERE purge_id = $2 AND edge = $3 AND state = 'pending' AND next_attempt_at <= $4 AND held_until <= $4
       RETURNING *`,
      [now + leaseMs, purgeId, edge, now],
    );
    return rows[0] && edgePurgeState(rows[0]);
  }

  async settle(update: EdgePurgeUpdate, at: number): Promise<void> {
    await this.pool.query(
      `UPDATE edge_purges SET state = $1, vendor_id = $2, attempts = $3, next_attempt_at = $4, last_error = $5, held_until = 0, updated_at = $6
       WHERE purge_id = $7 AND edge = $8 AND state = 'pending'`,
      [update.state, update.vendorId, update.attempts, update.nextAttemptAt, update.lastError, at, update.purgeId, update.edge],
    );
  }

  async lastPurged(edges: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ edge: string; at: string | null }>(
      `SELECT e.edge, (SELECT MAX(updated_at) FROM edge_purges p WHERE p.edge = e.edge AND p.state = 'purged') AS at
       FROM unnest($1::text[]) AS e(edge)`,
      [edges],
    );
    return new Map(rows.flatMap((row) => (row.at === null ? [] : [[row.edge, Number(row.at)] as const])));
  }

  async deleteBefore(cutoff: number, limit: number): Promise<number> {
    const result = await this.pool.query(
      'DELETE FROM edge_purges WHERE (purge_id, edge) IN (SELECT purge_id, edge FROM edge_purges WHERE created_at < $1 LIMIT $2)',
      [cutoff, limit],
    );
    return result.rowCount ?? 0;
  }
}
