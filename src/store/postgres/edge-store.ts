import type { EdgeRecord, EdgeStore } from '../edge-store.ts';
import type { PgPool } from './database.ts';

interface EdgeRow {
  name: string;
  url: string;
  in_rotation: boolean;
  reason: string | null;
  /** BIGINT: pg returns it as a string. */
  changed_at: string;
  created_at: string;
}

/** The edges registry in PostgreSQL (the `edges` table of PG_MIGRATIONS step 0), shared by every node. */
export class PgEdgeStore implements EdgeStore {
  constructor(private readonly pool: PgPool) {}

  async list(): Promise<EdgeRecord[]> {
    const { rows } = await this.pool.query<EdgeRow>('SELECT * FROM edges ORDER BY name');
    return rows.map(toRecord);
  }

  async get(name: string): Promise<EdgeRecord | undefined> {
    const { rows } = await this.pool.query<EdgeRow>('SELECT * FROM edges WHERE name = $1', [name]);
    return rows[0] && toRecord(rows[0]);
  }

  async add(edge: { name: string; url: string }): Promise<EdgeRecord | undefined> {
    const now = Date.now();
    const { rows } = await this.pool.query<EdgeRow>(
      'INSERT INTO edges (name, url, in_rotation, changed_at, created_at) VALUES ($1, $2, true, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
      [edge.name, edge.url, now],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async remove(name: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM edges WHERE name = $1', [name])).rowCount ?? 0) === 1;
  }

  async setInRotation(name: string, inRotation: boolean, reason?: string): Promise<boolean> {
    const result = await this.pool.query('UPDATE edges SET in_rotation = $1, reason = $2, changed_at = $3 WHERE name = $4', [
      inRotation,
      inRotation ? null : (reason ?? null),
      Date.now(),
      name,
    ]);
    return (result.rowCount ?? 0) === 1;
  }
}

function toRecord(row: EdgeRow): EdgeRecord {
  return {
    name: row.name,
    url: row.url,
    inRotation: row.in_rotation,
    reason: row.reason,
    changedAt: Number(row.changed_at),
    createdAt: Number(row.created_at),
  };
}
