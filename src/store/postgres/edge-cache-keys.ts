import type { EdgeCacheKeyStore, RecordedCacheKey } from '../edge-cache-keys.ts';
import { withTransaction, type PgPool } from './database.ts';

/** The cache keys nginx edges may hold, shared by the nodes (store/edge-cache-keys.ts). */
export class PgEdgeCacheKeys implements EdgeCacheKeyStore {
  constructor(private readonly pool: PgPool) {}

  async record(edge: string, cacheKey: string, edgeKeys: readonly string[], expiresAt: number, limit: number, now: number): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const known = (await client.query('SELECT 1 FROM edge_cache_keys WHERE edge = $1 AND cache_key = $2', [edge, cacheKey])).rowCount === 1;
      // The bound is approximate across nodes recording at once: each counts before it writes.
      if (!known && (await countOf(client, edge)) >= limit) return false;
      await client.query(
        `INSERT INTO edge_cache_keys (edge, cache_key, recorded_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (edge, cache_key) DO UPDATE SET recorded_at = excluded.recorded_at,
           expires_at = greatest(edge_cache_keys.expires_at, excluded.expires_at)`,
        [edge, cacheKey, now, expiresAt],
      );
      await client.query(
        `INSERT INTO edge_cache_key_tags (edge, edge_key, cache_key) SELECT $1, k, $2 FROM unnest($3::text[]) AS k
         ON CONFLICT DO NOTHING`,
        [edge, cacheKey, [...edgeKeys]],
      );
      return true;
    });
  }

  async covered(edge: string, edgeKeys: readonly string[] | 'all'): Promise<RecordedCacheKey[]> {
    if (edgeKeys === 'all') {
      const all = await this.pool.query<{ cache_key: string; recorded_at: string }>(
        'SELECT cache_key, recorded_at FROM edge_cache_keys WHERE edge = $1',
        [edge],
      );
      return all.rows.map((row) => ({ cacheKey: row.cache_key, recordedAt: Number(row.recorded_at) }));
    }
    if (edgeKeys.length === 0) return [];
    const { rows } = await this.pool.query<{ cache_key: string; recorded_at: string }>(
      `SELECT DISTINCT k.cache_key, k.recorded_at FROM edge_cache_key_tags t JOIN edge_cache_keys k ON k.edge = t.edge AND k.cache_key = t.cache_key
       WHERE t.edge = $1 AND t.edge_key = ANY($2::text[])`,
      [edge, [...edgeKeys]],
    );
    return rows.map((row) => ({ cacheKey: row.cache_key, recordedAt: Number(row.recorded_at) }));
  }

  async forget(edge: string, cacheKeys: readonly string[], before: number): Promise<void> {
    if (cacheKeys.length === 0) return;
    await this.pool.query(
      `WITH gone AS (DELETE FROM edge_cache_keys WHERE edge = $1 AND cache_key = ANY($2::text[]) AND recorded_at <= $3 RETURNING cache_key)
       DELETE FROM edge_cache_key_tags WHERE edge = $1 AND cache_key IN (SELECT cache_key FROM gone)`,
      [edge, [...cacheKeys], before],
    );
  }

  async expire(now: number, limit: number): Promise<number> {
    const result = await this.pool.query(
      `WITH gone AS (
         DELETE FROM edge_cache_keys WHERE (edge, cache_key) IN (
           SELECT edge, cache_key FROM edge_cache_keys WHERE expires_at < $1 OR edge NOT IN (SELECT name FROM edges) LIMIT $2)
         RETURNING edge, cache_key),
       untagged AS (DELETE FROM edge_cache_key_tags t USING gone WHERE t.edge = gone.edge AND t.cache_key = gone.cache_key)
       SELECT count(*)::int AS n FROM gone`,
      [now, limit],
    );
    return (result.rows[0] as { n: number }).n;
  }

  async count(edge: string): Promise<number> {
    return countOf(this.pool, edge);
  }
}

async function countOf(client: Pick<PgPool, 'query'>, edge: string): Promise<number> {
  return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM edge_cache_keys WHERE edge = $1', [edge])).rows[0]!.n;
}
