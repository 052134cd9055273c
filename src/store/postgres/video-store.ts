import { toVideoRecord, type VideoOrigin, type VideoRecord, type VideoRow, type VideoState, type VideoStore } from '../video-store.ts';
import type { PgPool } from './database.ts';

/** The Video API's states in PostgreSQL (the `videos` table of PG_MIGRATIONS), shared by every node. */
export class PgVideoStore implements VideoStore {
  constructor(private readonly pool: PgPool) {}

  async get(sourceId: string, path: string): Promise<VideoRecord | undefined> {
    const { rows } = await this.pool.query<VideoRow>('SELECT * FROM videos WHERE source_id = $1 AND path = $2', [sourceId, path]);
    return rows[0] && toVideoRecord(rows[0]);
  }

  async startVersion(sourceId: string, path: string, origin: VideoOrigin, probe: unknown, at: number): Promise<VideoRecord> {
    const { rows } = await this.pool.query<VideoRow>(
      `INSERT INTO videos (source_id, path, state, version, origin, probe, created_at, updated_at, checked_at)
       VALUES ($1, $2, 'processing', 1, $3, $4, $5, $5, $5)
       ON CONFLICT (source_id, path) DO UPDATE SET state = 'processing', error_code = NULL, reason = NULL, version = videos.version + 1,
         origin = excluded.origin, probe = excluded.probe, updated_at = excluded.updated_at, checked_at = excluded.checked_at,
         claim_node = NULL, claim_expires = NULL
       RETURNING *`,
      [sourceId, path, JSON.stringify(origin), probe === null ? null : JSON.stringify(probe), at],
    );
    return toVideoRecord(rows[0]!);
  }

  async startVersionAfter(
    sourceId: string,
    path: string,
    after: number | null,
    origin: VideoOrigin,
    probe: unknown,
    at: number,
  ): Promise<VideoRecord | undefined> {
    const values = [sourceId, path, JSON.stringify(origin), probe === null ? null : JSON.stringify(probe), at];
    const { rows } =
      after === null
        ? await this.pool.query<VideoRow>(
            `INSERT INTO videos (source_id, path, state, version, origin, probe, created_at, updated_at, checked_at)
             VALUES ($1, $2, 'processing', 1, $3, $4, $5, $5, $5) ON CONFLICT (source_id, path) DO NOTHING RETURNING *`,
            values,
          )
        : await this.pool.query<VideoRow>(
            `UPDATE videos SET state = 'processing', error_code = NULL, reason = NULL, version = version + 1, origin = $3, probe = $4,
               updated_at = $5, checked_at = $5, claim_node = NULL, claim_expires = NULL
             WHERE source_id = $1 AND path = $2 AND version = $6 RETURNING *`,
            [...values, after],
          );
    return rows[0] && toVideoRecord(rows[0]);
  }

  async claimEncode(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE videos SET claim_node = $1, claim_expires = $2, encodes = encodes + 1
       WHERE source_id = $3 AND path = $4 AND version = $5 AND state = 'processing'
         AND (claim_node IS NULL OR claim_expires <= $6 OR claim_node = $1)`,
      [node, at + leaseMs, sourceId, path, version, at],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async renewClaim(sourceId: string, path: string, version: number, node: string, leaseMs: number, at: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE videos SET claim_expires = $1 WHERE source_id = $2 AND path = $3 AND version = $4 AND state = 'processing' AND claim_node = $5`,
      [at + leaseMs, sourceId, path, version, node],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async markProcessed(sourceId: string, path: string, version: number, at: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE videos SET state = 'processed', updated_at = $1, claim_node = NULL, claim_expires = NULL
       WHERE source_id = $2 AND path = $3 AND version = $4 AND state = 'processing'`,
      [at, sourceId, path, version],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async markError(sourceId: string, path: string, version: number, error: { code: string; reason: string }, at: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE videos SET state = 'error', error_code = $1, reason = $2, updated_at = $3, claim_node = NULL, claim_expires = NULL
       WHERE source_id = $4 AND path = $5 AND version = $6`,
      [error.code, error.reason, at, sourceId, path, version],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async markChecked(sourceId: string, path: string, origin: VideoOrigin, at: number): Promise<void> {
    await this.pool.query('UPDATE videos SET origin = $1, checked_at = $2 WHERE source_id = $3 AND path = $4', [JSON.stringify(origin), at, sourceId, path]);
  }

  async remove(sourceId: string, path: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM videos WHERE source_id = $1 AND path = $2', [sourceId, path])).rowCount ?? 0) === 1;
  }

  async listByState(state: VideoState, limit: number): Promise<VideoRecord[]> {
    const { rows } = await this.pool.query<VideoRow>('SELECT * FROM videos WHERE state = $1 ORDER BY updated_at, source_id, path LIMIT $2', [state, limit]);
    return rows.map(toVideoRecord);
  }

  async listCheckedBefore(before: number, limit: number): Promise<VideoRecord[]> {
    const { rows } = await this.pool.query<VideoRow>('SELECT * FROM videos WHERE checked_at < $1 ORDER BY checked_at, source_id, path LIMIT $2', [before, limit]);
    return rows.map(toVideoRecord);
  }
}
