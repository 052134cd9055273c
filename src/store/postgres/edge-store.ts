import type { EdgeRecord, EdgeStore, NewEdge, ReadmittedBy } from '../edge-store.ts';
import { openEdgeSecrets, sealEdgeSecrets } from '../edge-secrets.ts';
import type { SecretBox } from '../secret-box.ts';
import { Batcher } from './batcher.ts';
import type { PgPool } from './database.ts';

/** The url of an edge that has none (a CDN purged through its API): the column is NOT NULL (db.ts). */
const NO_URL = '';

interface EdgeRow {
  name: string;
  kind: string;
  url: string | null;
  settings: EdgeRecord['settings'];
  secrets: Record<string, string>;
  in_rotation: boolean;
  reason: string | null;
  /** BIGINT: pg returns it as a string. */
  changed_at: string;
  created_at: string;
  readmitted_at: string | null;
  readmitted_by: ReadmittedBy | null;
  last_error: string | null;
}

/** The edges registry in PostgreSQL, shared by every node; secrets sealed as in SQLite (edge-secrets.ts). */
export class PgEdgeStore implements EdgeStore {
  constructor(
    private readonly pool: PgPool,
    private readonly secrets: () => Promise<SecretBox>,
  ) {}

  /** Every purge driven reads the edges: reads that arrive while one is in flight share the next (batcher.ts). */
  list(): Promise<EdgeRecord[]> {
    return this.lists.add();
  }

  private readonly lists = new Batcher<void, EdgeRecord[]>(async (calls) => {
    const { rows } = await this.pool.query<EdgeRow>('SELECT * FROM edges ORDER BY name');
    // Each caller gets records of its own.
    return Promise.all(calls.map(() => Promise.all(rows.map((row) => this.toRecord(row)))));
  }, Infinity);

  async get(name: string): Promise<EdgeRecord | undefined> {
    const { rows } = await this.pool.query<EdgeRow>('SELECT * FROM edges WHERE name = $1', [name]);
    return rows[0] && this.toRecord(rows[0]);
  }

  async add(edge: NewEdge): Promise<EdgeRecord | undefined> {
    const now = Date.now();
    const secrets = edge.secrets && Object.keys(edge.secrets).length > 0 ? sealEdgeSecrets(edge.name, edge.secrets, await this.secrets()) : '{}';
    const { rows } = await this.pool.query<EdgeRow>(
      `INSERT INTO edges (name, kind, url, settings, secrets, in_rotation, changed_at, created_at) VALUES ($1, $2, $3, $4, $5, true, $6, $6)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [edge.name, edge.kind ?? 'varnish', edge.url ?? NO_URL, JSON.stringify(edge.settings ?? {}), secrets, now],
    );
    return rows[0] && this.toRecord(rows[0]);
  }

  async remove(name: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM edges WHERE name = $1', [name])).rowCount ?? 0) === 1;
  }

  async setInRotation(name: string, inRotation: boolean, reason?: string): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE edges SET in_rotation = $1, reason = $2::text, last_error = COALESCE($2::text, last_error), changed_at = GREATEST($3, changed_at + 1)
       WHERE name = $4`,
      [inRotation, inRotation ? null : (reason ?? null), Date.now(), name],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async readmitIfUnchanged(name: string, changedAt: number, by: ReadmittedBy): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE edges SET in_rotation = true, reason = NULL, changed_at = GREATEST($1, changed_at + 1),
       readmitted_at = GREATEST($1, changed_at + 1), readmitted_by = $2
       WHERE name = $3 AND NOT in_rotation AND changed_at = $4`,
      [Date.now(), by, name, changedAt],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async noteError(name: string, changedAt: number, error: string): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE edges SET last_error = $1 WHERE name = $2 AND NOT in_rotation AND changed_at = $3 AND last_error IS DISTINCT FROM $1',
      [error, name, changedAt],
    );
    return (result.rowCount ?? 0) === 1;
  }

  private async toRecord(row: EdgeRow): Promise<EdgeRecord> {
    return {
      name: row.name,
      kind: row.kind,
      url: row.url === NO_URL ? null : row.url,
      settings: row.settings,
      secrets: Object.keys(row.secrets).length === 0 ? {} : openEdgeSecrets(row.name, row.secrets, await this.secrets()),
      inRotation: row.in_rotation,
      reason: row.reason,
      changedAt: Number(row.changed_at),
      createdAt: Number(row.created_at),
      readmittedAt: row.readmitted_at === null ? null : Number(row.readmitted_at),
      readmittedBy: row.readmitted_by,
      lastError: row.last_error,
    };
  }
}
