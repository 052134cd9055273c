import pg from 'pg';
import { checkSchemaVersion } from '../schema-version.ts';

/**
 * PostgreSQL, the shared store of a cluster: every node connects to the same database. Each node keeps a
 * small pool for queries, a smaller one for the writes that need not wait for the flush (stores.ts), and one
 * dedicated connection for LISTEN (listener.ts).
 *
 * Migrations run at start inside one transaction holding an advisory lock, so nodes starting at once on an
 * empty database apply each step exactly once; `schema_version` counts the steps applied.
 */
export type PgPool = pg.Pool;
export type PgClient = pg.PoolClient;

/** Advisory lock ids (one number space per database): migrations, and the order of the purge log's ids. */
export const LOCKS = { migrations: 7_368_001, purgeLog: 7_368_002, bootstrap: 7_368_003, sources: 7_368_004 } as const;

export interface PgOptions {
  /** `postgres://user@host:port/db` */
  url: string;
  /** Connections in this node's pool. */
  max?: number;
  /** Give up connecting after this long: a request then fails with STORE_UNAVAILABLE instead of waiting. */
  connectTimeoutMs?: number;
  /**
   * Commit without waiting for the flush (`synchronous_commit` off on every connection): only for writes that a
   * crash of PostgreSQL may lose, because what they record is done again when it is lost.
   */
  lazyCommit?: boolean;
}

export function createPool(options: PgOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
    idleTimeoutMillis: 30_000,
    // Bounded statements: a query stuck behind a lock or a stalled server fails instead of hanging a request.
    statement_timeout: 10_000,
    application_name: 'pictor',
    ...(options.lazyCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // A pooled connection that dies (a server restart) is dropped from the pool and reported on the next
  // query; without a listener here, the error would crash the process.
  pool.on('error', () => {});
  // The same for a connection that dies while checked out between two queries (inside a transaction): its
  // next query fails and says why; without a listener, the 'error' event would crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** The schema, one step per entry. */
export const PG_MIGRATIONS: readonly string[] = [
  // The purge log: one row per purge, its id the cluster-wide purge sequence (taken under an advisory lock,
  // so ids commit in order). `scopes` are the freshness scopes it marks; `purge_marks` keeps the newest
  // sequence number of each scope, so a node that starts loads one row per scope, not the whole log.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE purge_log (
     seq BIGSERIAL PRIMARY KEY,
     id UUID NOT NULL UNIQUE,
     url TEXT NOT NULL,
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     match TEXT NOT NULL,
     sub_image BOOLEAN NOT NULL DEFAULT false,
     parent_source_id TEXT,
     scopes TEXT[] NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending',
     origin TEXT,
     matched INTEGER,
     error TEXT,
     report JSONB,
     requested_by TEXT,
     created_at BIGINT NOT NULL,
     completed_at BIGINT,
     coordinator TEXT,
     claimed_until TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE INDEX purge_log_pending ON purge_log (seq) WHERE status = 'pending';
   CREATE INDEX purge_log_created ON purge_log (created_at DESC, seq DESC);
   CREATE TABLE purge_marks (scope TEXT PRIMARY KEY, seq BIGINT NOT NULL);
   CREATE INDEX purge_marks_seq ON purge_marks (seq);
   CREATE TABLE nodes (
     id TEXT PRIMARY KEY,
     last_applied BIGINT NOT NULL DEFAULT 0,
     lease_until TIMESTAMPTZ NOT NULL DEFAULT now(),
     fenced BOOLEAN NOT NULL DEFAULT false,
     render_url TEXT,
     admin_url TEXT,
     started_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE edges (
     name TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     in_rotation BOOLEAN NOT NULL DEFAULT true,
     reason TEXT,
     changed_at BIGINT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE rate_limits (caller TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL);`,
  // The state of postgres/stores.ts, as SQLite holds it (db.ts). `created_seq` orders Sources created in the
  // same second (SQLite's rowid); Source writes take LOCKS.sources, so domain checks hold at commit.
  `CREATE TABLE sources (
     id TEXT PRIMARY KEY,
     created_seq BIGSERIAL NOT NULL UNIQUE,
     name TEXT NOT NULL,
     type TEXT NOT NULL,
     enabled BOOLEAN NOT NULL,
     deployment JSONB NOT NULL,
     secure_url_token TEXT,
     date_deployed BIGINT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE INDEX sources_created ON sources (created_at, created_seq);
   CREATE INDEX sources_type_enabled ON sources (type, enabled, created_at);
   CREATE INDEX sources_date_deployed ON sources (date_deployed, created_at);
   CREATE TABLE source_domains (
     kind TEXT NOT NULL CHECK (kind IN ('host', 'label')),
     name TEXT NOT NULL,
     source_id TEXT NOT NULL REFERENCES sources (id),
     PRIMARY KEY (kind, name, source_id)
   );
   CREATE INDEX source_domains_source ON source_domains (source_id);
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     key_hash TEXT NOT NULL UNIQUE,
     permissions TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     last_used_at BIGINT,
     revoked_at BIGINT
   );
   CREATE TABLE dashboard_users (
     username TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE dashboard_sessions (
     id_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES dashboard_users (username) ON DELETE CASCADE,
     csrf_token TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
   CREATE TABLE dashboard_devices (
     id_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES dashboard_users (username) ON DELETE CASCADE,
     signed_in_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX dashboard_devices_account ON dashboard_devices (username, signed_in_at);
   CREATE INDEX dashboard_devices_expiry ON dashboard_devices (expires_at);`,
  // Takedowns, as SQLite holds them (db.ts); `seq` orders takedowns made in the same millisecond. The audit
  // trail is append-only: the trigger refuses to change or delete an entry.
  `CREATE TABLE takedowns (
     id TEXT PRIMARY KEY,
     seq BIGSERIAL NOT NULL UNIQUE,
     url TEXT NOT NULL,
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     reason TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     purge_id TEXT,
     lifted_at BIGINT,
     lifted_by TEXT
   );
   CREATE UNIQUE INDEX takedowns_active ON takedowns (source_id, path) WHERE lifted_at IS NULL;
   CREATE INDEX takedowns_created ON takedowns (created_at DESC, seq DESC);
   CREATE TABLE takedown_audit (
     seq BIGSERIAL PRIMARY KEY,
     takedown_id TEXT NOT NULL REFERENCES takedowns (id),
     action TEXT NOT NULL CHECK (action IN ('created', 'lifted')),
     actor TEXT NOT NULL,
     reason TEXT,
     at BIGINT NOT NULL
   );
   CREATE INDEX takedown_audit_takedown ON takedown_audit (takedown_id, seq);
   CREATE FUNCTION takedown_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'the takedown audit trail is append-only'; END $$;
   CREATE TRIGGER takedown_audit_append_only BEFORE UPDATE OR DELETE ON takedown_audit
     FOR EACH ROW EXECUTE FUNCTION takedown_audit_append_only();`,
  // The Asset Manager's index, as SQLite holds it (db.ts). Paths compare byte by byte (COLLATE "C"), as in
  // SQLite, so both order pages alike and a folder's paths form one range.
  `CREATE TABLE assets (
     source_id TEXT NOT NULL,
     origin_path TEXT COLLATE "C" NOT NULL,
     name TEXT,
     description TEXT,
     media_kind TEXT NOT NULL CHECK (media_kind IN ('IMAGE', 'VIDEO', 'OTHER')),
     media_width INTEGER,
     media_height INTEGER,
     file_size BIGINT NOT NULL,
     content_type TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     tags JSONB NOT NULL DEFAULT '[]',
     categories JSONB NOT NULL DEFAULT '[]',
     custom_fields JSONB NOT NULL DEFAULT '{}',
     video_status TEXT CHECK (video_status IN ('processing', 'processed', 'error')),
     date_created BIGINT NOT NULL,
     date_modified BIGINT NOT NULL,
     PRIMARY KEY (source_id, origin_path)
   );
   CREATE INDEX assets_created ON assets (source_id, date_created, origin_path);
   CREATE INDEX assets_modified ON assets (source_id, date_modified, origin_path);
   CREATE INDEX assets_size ON assets (source_id, file_size, origin_path);
   CREATE INDEX assets_kind ON assets (source_id, media_kind, origin_path);`,
  // The Video API's state of each video, as SQLite holds it (db.ts, store/video-store.ts).
  `CREATE TABLE videos (
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('processing', 'processed', 'error')),
     error_code TEXT,
     reason TEXT,
     version INTEGER NOT NULL,
     origin JSONB NOT NULL,
     probe JSONB,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     checked_at BIGINT NOT NULL,
     PRIMARY KEY (source_id, path)
   );
   CREATE INDEX videos_state ON videos (state, updated_at);
   CREATE INDEX videos_checked ON videos (checked_at);`,
  // A takedown's origin object, SHA-256 and the note on what could not be recorded, as SQLite holds them (db.ts).
  `ALTER TABLE takedowns ADD COLUMN origin_object TEXT;
   ALTER TABLE takedowns ADD COLUMN sha256 TEXT;
   ALTER TABLE takedowns ADD COLUMN origin_note TEXT;`,
  // The defaults SQLite has (db.ts): a purge matches the exact path, a Source is enabled.
  `ALTER TABLE purge_log ALTER COLUMN match SET DEFAULT 'exact';
   ALTER TABLE sources ALTER COLUMN enabled SET DEFAULT true;`,
  // Why the origin could not be asked when a purge's verdict is unknown, as SQLite holds it (sqlite/db.ts).
  `ALTER TABLE purge_log ADD COLUMN origin_error TEXT;`,
  // Webhooks and their outbox, as SQLite holds them (db.ts, store/webhook-store.ts).
  `CREATE TABLE webhooks (
     id TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     events JSONB NOT NULL,
     secret TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE webhook_deliveries (
     id TEXT PRIMARY KEY,
     webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
     event_id TEXT NOT NULL,
     event_type TEXT NOT NULL,
     body TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL,
     window_start BIGINT NOT NULL,
     next_attempt_at BIGINT NOT NULL,
     claimed_by TEXT,
     claimed_until BIGINT NOT NULL DEFAULT 0
   );
   CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
   CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
   CREATE INDEX webhook_deliveries_created ON webhook_deliveries (webhook_id, created_at);
   CREATE TABLE webhook_attempts (
     delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
     at BIGINT NOT NULL,
     status INTEGER,
     error TEXT,
     response TEXT
   );
   CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);`,
  // Each asset's tags, one row per tag, and the tag and asset count of a tag purge, as SQLite holds them
  // (db.ts). Paths compare byte by byte (COLLATE "C"), as in `assets`; tags compare exactly.
  `CREATE TABLE asset_tags (
     tag TEXT NOT NULL,
     source_id TEXT NOT NULL,
     origin_path TEXT COLLATE "C" NOT NULL,
     PRIMARY KEY (tag, source_id, origin_path),
     FOREIGN KEY (source_id, origin_path) REFERENCES assets (source_id, origin_path) ON DELETE CASCADE
   );
   CREATE INDEX asset_tags_asset ON asset_tags (source_id, origin_path);
   INSERT INTO asset_tags (tag, source_id, origin_path)
     SELECT each.tag, assets.source_id, assets.origin_path FROM assets, jsonb_array_elements_text(assets.tags) AS each (tag)
     ON CONFLICT DO NOTHING;
   ALTER TABLE purge_log ADD COLUMN tag TEXT;
   ALTER TABLE purge_log ADD COLUMN assets INTEGER;`,
  // Deliveries that ended, oldest first, for retention, as SQLite holds them (sqlite/db.ts).
  `CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (next_attempt_at) WHERE state <> 'pending';`,
  // The dashboard's failed sign-ins in a row, per address, account or trusted device (dashboard/sign-in-limiter.ts):
  // in the store, so that every node of a cluster counts them together.
  `CREATE TABLE sign_in_failures (
     key TEXT PRIMARY KEY,
     count INTEGER NOT NULL,
     last_at BIGINT NOT NULL
   );
   CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at);`,
  // Sources sorted by name in SQL, in the order of compareSourceNames (source-record.ts): ICU's collation of
  // Intl.Collator('en', { sensitivity: 'base', numeric: true }) — level 1 (case and accents ignored, so such
  // names tie and go by creation order) and numbers by value. SQLite keeps ranks for this (sqlite/name-ranks.ts).
  `CREATE COLLATION source_names (provider = icu, locale = 'en-u-ks-level1-kn-true', deterministic = false);
   CREATE INDEX sources_name ON sources ((name COLLATE source_names), created_at, created_seq);`,
  // The Purges search (URL contains): a trigram index serves ILIKE '%…%' as SQLite's FTS5 trigram index does.
  // pg_trgm ships with PostgreSQL and is a trusted extension (the database's owner may create it); where it
  // cannot be created, the search still answers by scanning, and the start says so in the server's log.
  `DO $$ BEGIN
     CREATE EXTENSION IF NOT EXISTS pg_trgm;
     CREATE INDEX purge_log_url ON purge_log USING gin (url gin_trgm_ops);
   EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
     RAISE NOTICE 'pg_trgm cannot be created (%): the Purges search scans the purge log', SQLERRM;
   END $$;`,
  // How many cached entries an exact purge matched on each node that applied it by following the log (the
  // accepting node's own count is purge_log.matched): the status document sums them (postgres/purge-log.ts).
  `CREATE TABLE purge_node_matches (
     seq BIGINT NOT NULL REFERENCES purge_log (seq) ON DELETE CASCADE,
     node_id TEXT NOT NULL,
     matched INTEGER NOT NULL,
     PRIMARY KEY (seq, node_id)
   );`,
  // The encode claim of a video's current version and the count of encodes started, as SQLite holds them (db.ts).
  `ALTER TABLE videos ADD COLUMN claim_node TEXT;
   ALTER TABLE videos ADD COLUMN claim_expires BIGINT;
   ALTER TABLE videos ADD COLUMN encodes INTEGER NOT NULL DEFAULT 0;`,
  // Edges of every kind, each purge's state at each edge and the cache keys an nginx edge may hold, as SQLite
  // holds them (db.ts): a CDN edge's url is '' there too.
  `ALTER TABLE edges ADD COLUMN kind TEXT NOT NULL DEFAULT 'varnish',
     ADD COLUMN settings JSONB NOT NULL DEFAULT '{}',
     ADD COLUMN secrets JSONB NOT NULL DEFAULT '{}';
   CREATE TABLE edge_purges (
     purge_id TEXT NOT NULL,
     edge TEXT NOT NULL,
     kind TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'purged', 'failed', 'out_of_rotation')),
     vendor_id TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at BIGINT NOT NULL,
     held_until BIGINT NOT NULL DEFAULT 0,
     last_error TEXT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (purge_id, edge)
   );
   CREATE INDEX edge_purges_created ON edge_purges (created_at);
   CREATE TABLE edge_cache_keys (
     edge TEXT NOT NULL,
     cache_key TEXT NOT NULL,
     recorded_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL,
     PRIMARY KEY (edge, cache_key)
   );
   CREATE INDEX edge_cache_keys_expiry ON edge_cache_keys (expires_at);
   CREATE TABLE edge_cache_key_tags (
     edge TEXT NOT NULL,
     edge_key TEXT NOT NULL,
     cache_key TEXT NOT NULL,
     PRIMARY KEY (edge, edge_key, cache_key)
   );
   CREATE INDEX edge_cache_key_tags_cache_key ON edge_cache_key_tags (edge, cache_key);`,
  // The Purges search reads the URL index's list of rows not merged into it yet whole, at every search, and the
  // planner weighs it: at the default 4 MB it outweighs a rare text's few index pages and makes a small log's
  // search a scan. A short list is merged more often, in smaller steps, by the appends that fill it.
  'ALTER INDEX IF EXISTS purge_log_url SET (gin_pending_list_limit = 128);',
  // When and by whom an edge was last re-admitted, its last error, and an index for each edge's last purge, as
  // SQLite holds them (db.ts).
  `ALTER TABLE edges ADD COLUMN readmitted_at BIGINT,
     ADD COLUMN readmitted_by TEXT,
     ADD COLUMN last_error TEXT;
   CREATE INDEX edge_purges_edge_state ON edge_purges (edge, state, updated_at);`,
];

/** Applies the migrations not applied yet; safe when several nodes start at once. */
export async function migrate(pool: PgPool, migrations: readonly string[] = PG_MIGRATIONS): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrations]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    let version = rows[0]?.version ?? 0;
    checkSchemaVersion(version, migrations.length);
    if (rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES (0)');
    for (; version < migrations.length; version++) await client.query(migrations[version]!);
    await client.query('UPDATE schema_version SET version = $1', [version]);
  });
}

/** Runs `fn` in a transaction on one pooled connection: committed if it resolves, rolled back if it throws. */
export async function withTransaction<T>(pool: PgPool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The id of this database's cluster, made on first use. Nodes keep their cache files under it: cached
 * entries carry purge sequence numbers of this log, which mean nothing against another database's log.
 */
export async function clusterId(pool: PgPool): Promise<string> {
  await pool.query("INSERT INTO meta (key, value) VALUES ('cluster_id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING");
  const { rows } = await pool.query<{ value: string }>("SELECT value FROM meta WHERE key = 'cluster_id'");
  return rows[0]!.value;
}
