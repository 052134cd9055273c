import type { EdgeRecord, EdgeStore, NewEdge } from '../edge-store.ts';
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
    const result = this.db
      .prepare('UPDATE edges SET in_rotation = ?, reason = ?, changed_at = ? WHERE name = ?')
      .run(inRotation ? 1 : 0, inRotation ? null : (reason ?? null), Date.now(), name);
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
    };
  }
}
