import type { EdgeRecord, EdgeStore } from '../edge-store.ts';
import { writeReturning, type Db } from './db.ts';

interface EdgeRow {
  name: string;
  url: string;
  in_rotation: number;
  reason: string | null;
  changed_at: number;
  created_at: number;
}

export class SqliteEdgeStore implements EdgeStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<EdgeRecord[]> {
    return (this.db.prepare('SELECT * FROM edges ORDER BY name').all() as EdgeRow[]).map(toRecord);
  }

  async get(name: string): Promise<EdgeRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM edges WHERE name = ?').get(name) as EdgeRow | undefined;
    return row && toRecord(row);
  }

  async add(edge: { name: string; url: string }): Promise<EdgeRecord | undefined> {
    const now = Date.now();
    const insert = this.db.prepare(
      'INSERT INTO edges (name, url, in_rotation, changed_at, created_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *',
    );
    const row = writeReturning<EdgeRow>(insert, edge.name, edge.url, now, now);
    return row && toRecord(row);
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
}

function toRecord(row: EdgeRow): EdgeRecord {
  return { name: row.name, url: row.url, inRotation: row.in_rotation === 1, reason: row.reason, changedAt: row.changed_at, createdAt: row.created_at };
}
