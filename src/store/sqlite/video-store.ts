import { toVideoRecord, type VideoOrigin, type VideoRecord, type VideoRow, type VideoState, type VideoStore } from '../video-store.ts';
import { writeReturning, type Db } from './db.ts';

export class SqliteVideoStore implements VideoStore {
  constructor(private readonly db: Db) {}

  async get(sourceId: string, path: string): Promise<VideoRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM videos WHERE source_id = ? AND path = ?').get(sourceId, path) as VideoRow | undefined;
    return row && toVideoRecord(row);
  }

  async startVersion(sourceId: string, path: string, origin: VideoOrigin, probe: unknown, at: number): Promise<VideoRecord> {
    const upsert = this.db.prepare(
      `INSERT INTO videos (source_id, path, state, version, origin, probe, created_at, updated_at, checked_at)
         VALUES (?, ?, 'processing', 1, ?, ?, ?, ?, ?)
         ON CONFLICT (source_id, path) DO UPDATE SET state = 'processing', error_code = NULL, reason = NULL, version = videos.version + 1,
           origin = excluded.origin, probe = excluded.probe, updated_at = excluded.updated_at, checked_at = excluded.checked_at,
           claim_node = NULL, claim_expires = NULL
         RETURNING *`,
    );
    const row = writeReturning<VideoRow>(upsert, sourceId, path, JSON.stringify(origin), probe === null ? null : JSON.stringify(probe), at, at, at);
    return toVideoRecord(row!);
  }

  async startVersionAfter(
    sourceId: string,
    path: string,
    after: number | null,
    origin: VideoOrigin,
    probe: unknown,
    at: number,
  ): Promise<VideoRecord | undefined> {
    const probeText = probe === null ? null : JSON.stringify(probe);
    const row =
      after === null
        ? writeReturning<VideoRow>(
            this.db.prepare(
              `INSERT INTO videos (source_id, path, state, version, origin, probe, created_at, updated_at, checked_at)
               VALUES (?, ?, 'processing', 1, ?, ?, ?, ?, ?) ON CONFLICT (source_id, path) DO NOTHING RETURNING *`,
            ),
            sourceId, path, JSON.stringify(origin), probeText, at, at, at,
          )
        : writeReturning<VideoRow>(
            this.db.prepare(
              `UPDATE videos SET state = 'processing', error_code = NULL, reason = NULL, version = version + 1, origin = ?, probe = ?,
                 updated_at = ?, checked_at = ?, claim_node = NULL, claim_expires = NULL
               WHERE source_id = ? AND path = ? AND version = ? RETURNING *`,
            ),
            JSON.stringify(origin), probeText, at, at, sourceId, path, after,
          );
    return row && toVideoRecord(row);
  }

  async claimEncode(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean> {
    const claim = this.db.prepare(
      `UPDATE videos SET claim_node = ?, claim_expires = ?, encodes = encodes + 1
       WHERE source_id = ? AND path = ? AND version = ? AND state = 'processing' AND (claim_node IS NULL OR claim_expires <= ? OR claim_node = ?)`,
    );
    return claim.run(node, at + leaseMs, sourceId, path, version, at, node).changes === 1;
  }

  async renewClaim(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean> {
    const renew = this.db.prepare(
      `UPDATE videos SET claim_expires = ? WHERE source_id = ? AND path = ? AND version = ? AND state = 'processing' AND claim_node = ?`,
    );
    return renew.run(at + leaseMs, sourceId, path, version, node).changes === 1;
  }

  async markProcessed(sourceId: string, path: string, version: number, at: number): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE videos SET state = 'processed', updated_at = ?, claim_node = NULL, claim_expires = NULL
           WHERE source_id = ? AND path = ? AND version = ? AND state = 'processing'`,
        )
        .run(at, sourceId, path, version).changes === 1
    );
  }

  async markError(sourceId: string, path: string, version: number, error: { code: string; reason: string }, at: number): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE videos SET state = 'error', error_code = ?, reason = ?, updated_at = ?, claim_node = NULL, claim_expires = NULL
           WHERE source_id = ? AND path = ? AND version = ?`,
        )
        .run(error.code, error.reason, at, sourceId, path, version).changes === 1
    );
  }

  async markChecked(sourceId: string, path: string, origin: VideoOrigin, at: number): Promise<void> {
    this.db.prepare('UPDATE videos SET origin = ?, checked_at = ? WHERE source_id = ? AND path = ?').run(JSON.stringify(origin), at, sourceId, path);
  }

  async remove(sourceId: string, path: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM videos WHERE source_id = ? AND path = ?').run(sourceId, path).changes === 1;
  }

  async listByState(state: VideoState, limit: number): Promise<VideoRecord[]> {
    const rows = this.db.prepare('SELECT * FROM videos WHERE state = ? ORDER BY updated_at, source_id, path LIMIT ?').all(state, limit) as VideoRow[];
    return rows.map(toVideoRecord);
  }

  async listCheckedBefore(before: number, limit: number): Promise<VideoRecord[]> {
    const rows = this.db.prepare('SELECT * FROM videos WHERE checked_at < ? ORDER BY checked_at, source_id, path LIMIT ?').all(before, limit) as VideoRow[];
    return rows.map(toVideoRecord);
  }
}
