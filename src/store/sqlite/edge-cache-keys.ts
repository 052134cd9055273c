import type { EdgeCacheKeyStore, RecordedCacheKey } from '../edge-cache-keys.ts';
import type { Db } from './db.ts';

export class SqliteEdgeCacheKeys implements EdgeCacheKeyStore {
  constructor(private readonly db: Db) {}

  async record(edge: string, cacheKey: string, edgeKeys: readonly string[], expiresAt: number, limit: number, now: number): Promise<boolean> {
    return this.db.transaction((): boolean => {
      const known = this.db.prepare('SELECT 1 FROM edge_cache_keys WHERE edge = ? AND cache_key = ?').get(edge, cacheKey) !== undefined;
      if (!known && this.countNow(edge) >= limit) return false;
      this.db
        .prepare(
          `INSERT INTO edge_cache_keys (edge, cache_key, recorded_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (edge, cache_key) DO UPDATE SET recorded_at = excluded.recorded_at, expires_at = max(expires_at, excluded.expires_at)`,
        )
        .run(edge, cacheKey, now, expiresAt);
      const tag = this.db.prepare('INSERT OR IGNORE INTO edge_cache_key_tags (edge, edge_key, cache_key) VALUES (?, ?, ?)');
      for (const key of edgeKeys) tag.run(edge, key, cacheKey);
      return true;
    }).immediate();
  }

  async covered(edge: string, edgeKeys: readonly string[] | 'all'): Promise<RecordedCacheKey[]> {
    if (edgeKeys === 'all') {
      const query = this.db.prepare('SELECT cache_key, recorded_at FROM edge_cache_keys WHERE edge = ?');
      const all = query.all(edge) as { cache_key: string; recorded_at: number }[];
      return all.map((row) => ({ cacheKey: row.cache_key, recordedAt: row.recorded_at }));
    }
    if (edgeKeys.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT DISTINCT k.cache_key, k.recorded_at FROM edge_cache_key_tags t JOIN edge_cache_keys k ON k.edge = t.edge AND k.cache_key = t.cache_key
         WHERE t.edge = ? AND t.edge_key IN (SELECT value FROM json_each(?))`,
      )
      .all(edge, JSON.stringify(edgeKeys)) as { cache_key: string; recorded_at: number }[];
    return rows.map((row) => ({ cacheKey: row.cache_key, recordedAt: row.recorded_at }));
  }

  async forget(edge: string, cacheKeys: readonly string[], before: number): Promise<void> {
    const drop = this.db.prepare('DELETE FROM edge_cache_keys WHERE edge = ? AND cache_key = ? AND recorded_at <= ? RETURNING cache_key');
    const untag = this.db.prepare('DELETE FROM edge_cache_key_tags WHERE edge = ? AND cache_key = ?');
    this.db.transaction(() => {
      for (const key of cacheKeys) if (drop.all(edge, key, before).length > 0) untag.run(edge, key);
    })();
  }

  async expire(now: number, limit: number): Promise<number> {
    return this.db.transaction((): number => {
      const gone = this.db
        .prepare(
          `DELETE FROM edge_cache_keys WHERE (edge, cache_key) IN (
             SELECT edge, cache_key FROM edge_cache_keys WHERE expires_at < ? OR edge NOT IN (SELECT name FROM edges) LIMIT ?)
           RETURNING edge, cache_key`,
        )
        .all(now, limit) as { edge: string; cache_key: string }[];
      const untag = this.db.prepare('DELETE FROM edge_cache_key_tags WHERE edge = ? AND cache_key = ?');
      for (const row of gone) untag.run(row.edge, row.cache_key);
      return gone.length;
    }).immediate();
  }

  async count(edge: string): Promise<number> {
    return this.countNow(edge);
  }

  private countNow(edge: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM edge_cache_keys WHERE edge = ?').get(edge) as { n: number }).n;
  }
}
