import type { NodeState, NodeStates } from '../node-states.ts';
import type { PgPool } from './database.ts';
import { ACK_CHANNEL, LOG_HEAD as HEAD } from './purge-log.ts';

/**
 * The cluster's nodes and their leases (see cluster/cluster-node.ts for the rules). Every time here is the
 * database's clock (`now()`), so nodes' clocks never have to agree. A node extends its lease only while it
 * has applied the whole log and is not fenced; the row lock orders a renewal against a fence, so a fenced
 * node cannot extend its lease, and rejoins only once it has caught up (`rejoin`).
 */
export class PgNodeStates implements NodeStates {
  /**
   * @param lazy the pool whose connections commit without waiting for the flush (stores.ts), for the
   *   acknowledgements alone.
   */
  constructor(
    private readonly pool: PgPool,
    private readonly lazy: PgPool,
  ) {}

  /** Registers a node (or finds it again after a restart); it stays fenced if it was. */
  async register(id: string): Promise<void> {
    await this.pool.query('INSERT INTO nodes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET started_at = now()', [id]);
  }

  async announce(id: string, urls: { render: string; admin: string }): Promise<void> {
    await this.pool.query('UPDATE nodes SET render_url = $2, admin_url = $3 WHERE id = $1', [id, urls.render, urls.admin]);
  }

  /**
   * Records that the node applied the log up to `seq`, and wakes coordinators waiting for it. Returns whether
   * the node is fenced.
   *
   * Committed without waiting for the flush, and it does not touch the lease, which only `renew` (durable)
   * extends: an acknowledgement lost in a crash of PostgreSQL only makes the node look behind, and it
   * acknowledges again (`last_applied` only rises), while a lease end the node relies on is never lost.
   * One statement, one round trip: every purge's completion waits for the slowest node's acknowledgement.
   */
  async ack(id: string, seq: number): Promise<{ fenced: boolean }> {
    const { rows } = await this.lazy.query<{ fenced: boolean }>(
      `WITH updated AS (UPDATE nodes SET last_applied = GREATEST(last_applied, $2) WHERE id = $1 RETURNING fenced)
       SELECT fenced, pg_notify($3, $1) FROM updated`,
      [id, seq, ACK_CHANNEL],
    );
    return { fenced: rows[0]?.fenced ?? true };
  }

  /**
   * Extends the lease if the node is not fenced and has applied every entry of the log; false otherwise (the
   * node must catch up, then `rejoin`).
   */
  async renew(id: string, leaseSeconds: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE nodes SET lease_until = now() + make_interval(secs => $2)
       WHERE id = $1 AND NOT fenced AND last_applied >= ${HEAD}`,
      [id, leaseSeconds],
    );
    return rowCount === 1;
  }

  /** Lifts the fence of a node that has applied every entry of the log; false if it is still behind. */
  async rejoin(id: string, leaseSeconds: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE nodes SET fenced = false, lease_until = now() + make_interval(secs => $2)
       WHERE id = $1 AND last_applied >= ${HEAD}`,
      [id, leaseSeconds],
    );
    return rowCount === 1;
  }

  async states(): Promise<NodeState[]> {
    const { rows } = await this.pool.query<{ id: string; last_applied: string; lease_until: Date; expired: boolean; fenced: boolean }>(
      'SELECT id, last_applied, lease_until, lease_until < now() AS expired, fenced FROM nodes ORDER BY id',
    );
    return rows.map((row) => ({
      id: row.id,
      lastApplied: Number(row.last_applied),
      leaseUntil: row.lease_until.getTime(),
      expired: row.expired,
      fenced: row.fenced,
    }));
  }

  /**
   * Fences a node whose lease ran out before it applied `seq`; true if it is fenced now. A node that applied
   * it or renewed its lease meanwhile is left alone.
   */
  async fence(id: string, seq: number): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE nodes SET fenced = true WHERE id = $1 AND lease_until < now() AND last_applied < $2', [id, seq]);
    return rowCount === 1;
  }

  /** Forgets nodes that have been gone (fenced, lease over) for longer than `seconds`. */
  async forgetGone(seconds: number): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM nodes WHERE fenced AND lease_until < now() - make_interval(secs => $1)', [seconds]);
    return rowCount ?? 0;
  }
}
