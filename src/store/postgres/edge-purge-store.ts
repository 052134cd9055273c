import type { EdgePurgeState, EdgePurgeStore, EdgePurgeUpdate } from '../edge-purge-store.ts';
import { edgePurgeState } from '../sqlite/edge-purge-store.ts';
import { Batcher } from './batcher.ts';
import type { PgPool } from './database.ts';

/** Each purge's state at each edge, shared by the nodes: `take` is one conditional UPDATE, so one node tries at a time. */
export class PgEdgePurgeStore implements EdgePurgeStore {
  constructor(private readonly pool: PgPool) {}

  /**
   * One statement: the rows it adds (taken at once when pending) and the rows there were. Should another
   * node add some of the purge's rows meanwhile, this statement's snapshot cannot see them: then the states
   * are read again.
   */
  async begin(purgeId: string, edges: Parameters<EdgePurgeStore['begin']>[1], at: number, leaseMs: number): Promise<{ states: EdgePurgeState[]; taken: Set<string> }> {
    if (edges.length === 0) return { states: await this.list(purgeId), taken: new Set() };
    const { rows } = await this.pool.query(
      `WITH added AS (
         INSERT INTO edge_purges (purge_id, edge, kind, state, last_error, next_attempt_at, created_at, updated_at, held_until)
         SELECT $1, e.edge, e.kind, e.state, e.last_error, $2, $2, $2, CASE WHEN e.state = 'pending' THEN $2::bigint + $3 ELSE 0 END
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS e(edge, kind, state, last_error)
         ON CONFLICT (purge_id, edge) DO NOTHING
         RETURNING *
       )
       SELECT * FROM (SELECT *, true AS added FROM added UNION ALL SELECT *, false AS added FROM edge_purges WHERE purge_id = $1) AS states
       ORDER BY edge COLLATE "C"`,
      [
        purgeId,
        at,
        leaseMs,
        edges.map((edge) => edge.edge),
        edges.map((edge) => edge.kind),
        edges.map((edge) => edge.state),
        edges.map((edge) => edge.lastError ?? null),
      ],
    );
    const found = rows as { edge: string; state: string; added: boolean }[];
    const taken = new Set(found.filter((row) => row.added && row.state === 'pending').map((row) => row.edge));
    const seen = new Set(found.map((row) => row.edge));
    const states = edges.every((edge) => seen.has(edge.edge)) ? rows.map(edgePurgeState) : await this.list(purgeId);
    return { states, taken };
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

  async settle(update: EdgePurgeUpdate, at: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE edge_purges SET state = $1, vendor_id = $2, attempts = $3, next_attempt_at = $4, last_error = $5, held_until = 0, updated_at = $6
       WHERE purge_id = $7 AND edge = $8 AND state = 'pending'`,
      [update.state, update.vendorId, update.attempts, update.nextAttemptAt, update.lastError, at, update.purgeId, update.edge],
    );
    return rowCount === 1;
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
