/**
 * The cache keys an nginx edge may hold (edges/nginx.ts): every key Pictor answered through that edge with a
 * cacheable response, filed under the edge keys (edges/edge-keys.ts) the response carried, until the longest
 * it can stay fresh there. nginx's cache purge module removes one key per request and has no wildcard, so a
 * purge of a scope sends one purge per recorded key filed under the scope's edge key. Shared by the nodes of a
 * cluster (PostgreSQL), so a key served by any node is purged by whichever node drives the purge, and kept
 * apart from Pictor's own caches, so a key whose derivative Pictor evicted is still purged.
 */
export interface RecordedCacheKey {
  cacheKey: string;
  recordedAt: number;
}

export interface EdgeCacheKeyStore {
  /**
   * Records that `edge` may hold `cacheKey`, filed under `edgeKeys`, until `expiresAt`. False, with nothing
   * written, when the key is new and the edge already has `limit` keys recorded: the caller then tells the edge
   * not to keep the response.
   */
  record(edge: string, cacheKey: string, edgeKeys: readonly string[], expiresAt: number, limit: number, now: number): Promise<boolean>;
  /** The recorded keys of `edge` filed under any of `edgeKeys`, or every key of the edge (`all`). */
  covered(edge: string, edgeKeys: readonly string[] | 'all'): Promise<RecordedCacheKey[]>;
  /** Forgets keys the edge purged, unless recorded again after `before` (a newer response may be there now). */
  forget(edge: string, cacheKeys: readonly string[], before: number): Promise<void>;
  /** Forgets up to `limit` keys that expired before `now`, and every key of edges no longer registered; how many. */
  expire(now: number, limit: number): Promise<number>;
  /** How many keys are recorded for `edge`. */
  count(edge: string): Promise<number>;
}
