import type { EdgeRecord, EdgeStore, NewEdge, ReadmittedBy } from '../edge-store.ts';
import { openEdgeSecrets, sealEdgeSecrets } from '../edge-secrets.ts';
import type { SecretBox } from '../secret-box.ts';
import { writeReturning, type Db } from './db.ts';

/** The url of an edge that has none (a CDN purged through its API): the column is NOT NULL (db.ts). */
const NO_URL = '';

interface EdgeRow {
  name: string;
  kind: string;
  url: string | null;
  settings: string;
  secrets: string;
  in_rotation: number;
  reason: string | null;
  changed_at: number;
  created_at: number;
  readmitted_at: number | null;
  readmitted_by: ReadmittedBy | null;
  last_error: string | null;
}

export class SqliteEdgeStore implements EdgeStore {
  /** `keys` may be a function: the keys are then read when an edge with secrets is first read or written. */
  constructor(
    private readonly db: Db,
    private readonly keys: SecretBox | (() => SecretBox),
  ) {}

  async list(): Promise<EdgeRecord[]> {
    return (this.db.prepare('SELECT * FROM edges ORDER BY name').all() as EdgeRow[]).map((row) => this.toRecord(row));
  }

  async get(name: string): Promise<EdgeRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM edges WHERE name = ?').get(name) as EdgeRow | undefined;
    return row && this.toRecord(row);
  }

  async add(edge: NewEdge): Promise<EdgeRecord | undefined> {
    const now = Date.now();
    const secrets = edge.secrets && Object.keys(edge.secrets).length > 0 ? sealEdgeSecrets(edge.name, edge.secrets, this.box()) : '{}';
    const insert = this.db.prepare(
      `INSERT INTO edges (name, kind, url, settings, secrets, in_rotation, changed_at, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
    );
    const settings = JSON.stringify(edge.settings ?? {});
    const row = writeReturning<EdgeRow>(insert, edge.name, edge.kind ?? 'varnish', edge.url ?? NO_URL, settings, secrets, now, now);
    return row && this.toRecord(row);
  }

  async remove(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM edges WHERE name = ?').run(name).changes === 1;
  }

  async setInRotation(name: string, inRotation: boolean, reason?: string): Promise<boolean> {
    const out = inRotation ? null : (reason ?? null);
    const result = this.db
      .prepare(
        `UPDATE edges SET in_rotation = ?, reason = ?, last_error = COALESCE(?, last_error), changed_at = MAX(?, changed_at + 1)
         WHERE name = ?`,
      )
      .run(inRotation ? 1 : 0, out, out, Date.now(), name);
    return result.changes === 1;
  }

  async readmitIfUnchanged(name: string, changedAt: number, by: ReadmittedBy): Promise<boolean> {
    const now = Date.now();
    const result = this.db
      .prepare(
        `UPDATE edges SET in_rotation = 1, reason = NULL, changed_at = MAX(@now, changed_at + 1), readmitted_at = MAX(@now, changed_at + 1),
         readmitted_by = @by WHERE name = @name AND in_rotation = 0 AND changed_at = @changedAt`,
      )
      .run({ now, by, name, changedAt });
    return result.changes === 1;
  }

  async noteError(name: string, changedAt: number, error: string): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE edges SET last_error = ? WHERE name = ? AND in_rotation = 0 AND changed_at = ? AND last_error IS NOT ?')
      .run(error, name, changedAt, error);
    return result.changes === 1;
  }

  private box(): SecretBox {
    return typeof this.keys === 'function' ? this.keys() : this.keys;
  }

  private toRecord(row: EdgeRow): EdgeRecord {
    return {
      name: row.name,
      kind: row.kind,
      url: row.url === NO_URL ? null : row.url,
      settings: JSON.parse(row.settings) as EdgeRecord['settings'],
      secrets: row.secrets === '{}' ? {} : openEdgeSecrets(row.name, row.secrets, this.box()),
      inRotation: row.in_rotation === 1,
      reason: row.reason,
      changedAt: row.changed_at,
      createdAt: row.created_at,
      readmittedAt: row.readmitted_at,
      readmittedBy: row.readmitted_by,
      lastError: row.last_error,
    };
  }
}
