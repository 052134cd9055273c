import path from 'node:path';
import Database from 'better-sqlite3';
import { ensureDataDir, restrictDatabaseFiles } from '../data-dir.ts';
import { checkSchemaVersion } from '../schema-version.ts';

export type Db = Database.Database;

/**
 * The embedded store. WAL lets the CLI write (keys, sources) while a server runs on the same data
 * directory; `synchronous = FULL` makes every commit durable before it returns, which is what lets
 * the purge API answer 200 only once a purge is on disk.
 */
export function openDatabase(dataDir: string): Db {
  ensureDataDir(dataDir);
  const file = path.join(dataDir, 'pictor.db');
  restrictDatabaseFiles(file);
  const db = new Database(file);
  useWal(db);
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** How often, and how far apart, opening tries again to switch a new database to WAL. */
const WAL_TRIES = 100;
const WAL_RETRY_MS = 20;

/**
 * Switching a new database to WAL takes the file for a moment; a process opening the same new data directory
 * at that moment gets SQLITE_BUSY at once (SQLite does not wait there: it could deadlock), so it tries again.
 * The mode is kept in the file: later opens find it set.
 */
function useWal(db: Db): void {
  for (let attempt = 1; ; attempt++) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= WAL_TRIES) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAL_RETRY_MS); // a synchronous pause: opening is synchronous
    }
  }
}

/** The schema, one step per entry; `user_version` counts the steps applied. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE sources (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     type TEXT NOT NULL,
     enabled INTEGER NOT NULL DEFAULT 1,
     deployment TEXT NOT NULL,
     secure_url_token TEXT,
     date_deployed INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     key_hash TEXT NOT NULL UNIQUE,
     permissions TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER,
     revoked_at INTEGER
   );
   CREATE TABLE purges (
     id TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     match TEXT NOT NULL DEFAULT 'exact',
     sub_image INTEGER NOT NULL DEFAULT 0,
     parent_source_id TEXT,
     status TEXT NOT NULL,
     origin TEXT,
     matched INTEGER,
     generation INTEGER,
     error TEXT,
     requested_by TEXT,
     created_at INTEGER NOT NULL,
     completed_at INTEGER
   );
   CREATE INDEX purges_pending ON purges (status) WHERE status = 'pending';
   CREATE INDEX purges_created ON purges (created_at);
   CREATE TABLE purge_marks (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL);`,
  // The web dashboard: accounts (scrypt hashes), sessions (SHA-256 of the cookie), and the purge listing's filter.
  `CREATE TABLE dashboard_users (
     username TEXT PRIMARY KEY,
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE dashboard_sessions (
     id_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES dashboard_users (username) ON DELETE CASCADE,
     csrf_token TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
   CREATE INDEX purges_status_created ON purges (status, created_at);`,
  // Trusted dashboard browsers (SHA-256 of the device cookie), which sign-in limits by their own failures only.
  `CREATE TABLE dashboard_devices (
     id_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES dashboard_users (username) ON DELETE CASCADE,
     signed_in_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX dashboard_devices_account ON dashboard_devices (username, signed_in_at);
   CREATE INDEX dashboard_devices_expiry ON dashboard_devices (expires_at);`,
  // The Purges search: a trigram index of purge URLs, so that "URL contains" never scans the table. Purges
  // are added to it in the background (PurgeLog.indexForSearch), never on the way to acknowledging one;
  // `in_search` says which are in it. Marks by sequence number, for compaction.
  `CREATE VIRTUAL TABLE purges_url USING fts5 (url, content = 'purges', content_rowid = 'rowid', tokenize = 'trigram');
   ALTER TABLE purges ADD COLUMN in_search INTEGER NOT NULL DEFAULT 0;
   INSERT INTO purges_url (rowid, url) SELECT rowid, url FROM purges;
   UPDATE purges SET in_search = 1;
   CREATE INDEX purges_not_in_search ON purges (in_search) WHERE in_search = 0;
   CREATE TRIGGER purges_url_delete AFTER DELETE ON purges WHEN old.in_search = 1 BEGIN
     INSERT INTO purges_url (purges_url, rowid, url) VALUES ('delete', old.rowid, old.url);
   END;
   CREATE INDEX purge_marks_seq ON purge_marks (seq);`,
  // Sources at scale: the domains each Source holds, for uniqueness checks and domain filters by lookup; an
  // index per list order (ties in creation order); each Source's place in name order, which SourceStore fills
  // in (the name collation is not SQLite's).
  `CREATE TABLE source_domains (
     kind TEXT NOT NULL CHECK (kind IN ('host', 'label')),
     name TEXT NOT NULL,
     source_id TEXT NOT NULL REFERENCES sources (id),
     PRIMARY KEY (kind, name, source_id)
   ) WITHOUT ROWID;
   CREATE INDEX source_domains_source ON source_domains (source_id);
   INSERT OR IGNORE INTO source_domains (kind, name, source_id)
     SELECT 'host', lower(domain.value), sources.id FROM sources, json_each(sources.deployment, '$.custom_domains') AS domain
     UNION ALL
     SELECT 'label', lower(label.value), sources.id FROM sources, json_each(sources.deployment, '$.imgix_subdomains') AS label;
   ALTER TABLE sources ADD COLUMN name_rank INTEGER;
   CREATE INDEX sources_created ON sources (created_at);
   CREATE INDEX sources_name ON sources (name, created_at);
   CREATE INDEX sources_type ON sources (type, created_at);
   CREATE INDEX sources_type_enabled ON sources (type, enabled, created_at);
   CREATE INDEX sources_name_rank ON sources (name_rank, created_at);
   CREATE INDEX sources_name_rank_desc ON sources (name_rank DESC, created_at);
   CREATE INDEX sources_date_deployed ON sources (date_deployed, created_at);
   CREATE INDEX sources_date_deployed_desc ON sources (date_deployed DESC, created_at);
   CREATE INDEX sources_enabled ON sources (enabled, created_at);
   CREATE INDEX sources_enabled_desc ON sources (enabled DESC, created_at);`,
  // Varnish edges, purged after the nodes on every purge (edges/edge-purger.ts). One that failed a purge is
  // out of rotation (with the reason) until it is flushed and re-admitted. The same table as PostgreSQL's.
  // And where a completed purge took effect (nodes, edges), as JSON: the status document's report.
  `CREATE TABLE edges (
     name TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     in_rotation INTEGER NOT NULL DEFAULT 1,
     reason TEXT,
     changed_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   ALTER TABLE purges ADD COLUMN report TEXT;`,
  // Takedowns (takedown/): an asset answered 451 until lifted, at most one active per asset; and their audit
  // trail, append-only (the triggers refuse to change or delete an entry).
  `CREATE TABLE takedowns (
     id TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     reason TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     purge_id TEXT,
     lifted_at INTEGER,
     lifted_by TEXT
   );
   CREATE UNIQUE INDEX takedowns_active ON takedowns (source_id, path) WHERE lifted_at IS NULL;
   CREATE INDEX takedowns_created ON takedowns (created_at);
   CREATE TABLE takedown_audit (
     takedown_id TEXT NOT NULL REFERENCES takedowns (id),
     action TEXT NOT NULL CHECK (action IN ('created', 'lifted')),
     actor TEXT NOT NULL,
     reason TEXT,
     at INTEGER NOT NULL
   );
   CREATE INDEX takedown_audit_takedown ON takedown_audit (takedown_id);
   CREATE TRIGGER takedown_audit_no_update BEFORE UPDATE ON takedown_audit BEGIN
     SELECT RAISE(ABORT, 'the takedown audit trail is append-only');
   END;
   CREATE TRIGGER takedown_audit_no_delete BEFORE DELETE ON takedown_audit BEGIN
     SELECT RAISE(ABORT, 'the takedown audit trail is append-only');
   END;`,
  // The Asset Manager's index (store/asset-store.ts): one row per asset served, added or uploaded, with what
  // its bytes say and what people wrote about it; one index per list order, ties by path.
  `CREATE TABLE assets (
     source_id TEXT NOT NULL,
     origin_path TEXT NOT NULL,
     name TEXT,
     description TEXT,
     media_kind TEXT NOT NULL CHECK (media_kind IN ('IMAGE', 'VIDEO', 'OTHER')),
     media_width INTEGER,
     media_height INTEGER,
     file_size INTEGER NOT NULL,
     content_type TEXT NOT NULL,
     content_hash TEXT NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]',
     categories TEXT NOT NULL DEFAULT '[]',
     custom_fields TEXT NOT NULL DEFAULT '{}',
     video_status TEXT CHECK (video_status IN ('processing', 'processed', 'error')),
     date_created INTEGER NOT NULL,
     date_modified INTEGER NOT NULL,
     PRIMARY KEY (source_id, origin_path)
   ) WITHOUT ROWID;
   CREATE INDEX assets_created ON assets (source_id, date_created, origin_path);
   CREATE INDEX assets_modified ON assets (source_id, date_modified, origin_path);
   CREATE INDEX assets_size ON assets (source_id, file_size, origin_path);
   CREATE INDEX assets_kind ON assets (source_id, media_kind, origin_path);`,
  // The Video API's state of each video (store/video-store.ts): processing, processed or error, the version
  // its outputs live under, what the origin said (JSON) and ffprobe's summary (JSON).
  `CREATE TABLE videos (
     source_id TEXT NOT NULL,
     path TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('processing', 'processed', 'error')),
     error_code TEXT,
     reason TEXT,
     version INTEGER NOT NULL,
     origin TEXT NOT NULL,
     probe TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     checked_at INTEGER NOT NULL,
     PRIMARY KEY (source_id, path)
   );
   CREATE INDEX videos_state ON videos (state, updated_at);
   CREATE INDEX videos_checked ON videos (checked_at);`,
  // What a takedown's URL resolved to at the origin (its object, the SHA-256 of its bytes), so the content
  // is blocked whatever Source or path leads to it, and why either is missing (takedown/takedowns.ts).
  `ALTER TABLE takedowns ADD COLUMN origin_object TEXT;
   ALTER TABLE takedowns ADD COLUMN sha256 TEXT;
   ALTER TABLE takedowns ADD COLUMN origin_note TEXT;`,
  // Purges numbered when they are logged (store/purge-log.ts): each row keeps the freshness scopes it marks
  // (as purge_log does), and why the origin could not be asked when its verdict is unknown. Purges pending
  // from a version that numbered them only when applied are numbered now, above every number that version
  // handed out (`seq_reserved`), with their marks, as its recovery did.
  `ALTER TABLE purges ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE purges ADD COLUMN origin_error TEXT;
   UPDATE purges SET scopes = json_array(CASE match
     WHEN 'source' THEN 'S:' || source_id
     WHEN 'prefix' THEN 'P:' || source_id || ':' || path
     ELSE 'A:' || source_id || ':' || path END);
   CREATE TEMP TABLE unnumbered AS
     SELECT rowid AS id, row_number() OVER (ORDER BY created_at, rowid) AS n FROM purges WHERE status = 'pending' AND generation IS NULL;
   UPDATE purges SET generation = (SELECT n FROM unnumbered WHERE unnumbered.id = purges.rowid) + max(
       coalesce((SELECT max(seq) FROM purge_marks), 0),
       coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'mark_floor'), 0),
       coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq_reserved'), 0))
     WHERE rowid IN (SELECT id FROM unnumbered);
   DROP TABLE unnumbered;
   INSERT INTO purge_marks (scope, seq) SELECT json_extract(scopes, '$[0]'), generation FROM purges WHERE status = 'pending'
     ON CONFLICT (scope) DO UPDATE SET seq = max(seq, excluded.seq);
   CREATE INDEX purges_pending_seq ON purges (generation) WHERE status = 'pending';`,
  // Webhooks (store/webhook-store.ts): each with its sealed secret, and the outbox — one delivery per event
  // and subscribed webhook, written with the change it reports — with every try's outcome.
  `CREATE TABLE webhooks (
     id TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     events TEXT NOT NULL,
     secret TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE webhook_deliveries (
     id TEXT PRIMARY KEY,
     webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
     event_id TEXT NOT NULL,
     event_type TEXT NOT NULL,
     body TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     window_start INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     claimed_by TEXT,
     claimed_until INTEGER NOT NULL DEFAULT 0
   );
   CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
   CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
   CREATE INDEX webhook_deliveries_created ON webhook_deliveries (webhook_id, created_at);
   CREATE TABLE webhook_attempts (
     delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
     at INTEGER NOT NULL,
     status INTEGER,
     error TEXT,
     response TEXT
   );
   CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);`,
  // Purge by tag (purge/tag-purge.ts): one row per tag of each asset, written with the asset's tags, so the
  // assets carrying a tag are read from the primary key rather than by parsing every asset's JSON; and the tag
  // and asset count of a tag purge. Tags compare exactly (BINARY), as the Assets API stores them.
  `CREATE TABLE asset_tags (
     tag TEXT NOT NULL,
     source_id TEXT NOT NULL,
     origin_path TEXT NOT NULL,
     PRIMARY KEY (tag, source_id, origin_path),
     FOREIGN KEY (source_id, origin_path) REFERENCES assets (source_id, origin_path) ON DELETE CASCADE
   ) WITHOUT ROWID;
   CREATE INDEX asset_tags_asset ON asset_tags (source_id, origin_path);
   INSERT OR IGNORE INTO asset_tags (tag, source_id, origin_path)
     SELECT each.value, assets.source_id, assets.origin_path FROM assets, json_each(assets.tags) AS each;
   ALTER TABLE purges ADD COLUMN tag TEXT;
   ALTER TABLE purges ADD COLUMN assets INTEGER;`,
  // Deliveries that ended (delivered, failed), oldest first, for retention (webhooks/retention.ts).
  `CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (next_attempt_at) WHERE state <> 'pending';`,
  // The dashboard's failed sign-ins in a row, per address, account or trusted device (dashboard/sign-in-limiter.ts):
  // in the store, so that every node of a cluster counts them together.
  `CREATE TABLE sign_in_failures (
     key TEXT PRIMARY KEY,
     count INTEGER NOT NULL,
     last_at INTEGER NOT NULL
   );
   CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at);`,
  // Which process encodes a video's current version and until when (store/video-store.ts `claimEncode`), and
  // how many encodes were started for the video in all.
  `ALTER TABLE videos ADD COLUMN claim_node TEXT;
   ALTER TABLE videos ADD COLUMN claim_expires INTEGER;
   ALTER TABLE videos ADD COLUMN encodes INTEGER NOT NULL DEFAULT 0;`,
  // Edges of every kind (edges/kinds.ts): their settings (JSON) and secrets (JSON of sealed values,
  // store/edge-secrets.ts). `url` stays NOT NULL, as steps only add: a CDN reached through its API has none and
  // is stored with '' (edge-store.ts reads it as null). Each purge's state at each edge
  // (store/edge-purge-store.ts), and the cache keys an nginx edge may hold (store/edge-cache-keys.ts), filed
  // under the edge keys of the responses.
  `ALTER TABLE edges ADD COLUMN kind TEXT NOT NULL DEFAULT 'varnish';
   ALTER TABLE edges ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE edges ADD COLUMN secrets TEXT NOT NULL DEFAULT '{}';
   CREATE TABLE edge_purges (
     purge_id TEXT NOT NULL,
     edge TEXT NOT NULL,
     kind TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'purged', 'failed', 'out_of_rotation')),
     vendor_id TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     held_until INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (purge_id, edge)
   ) WITHOUT ROWID;
   CREATE INDEX edge_purges_created ON edge_purges (created_at);
   CREATE TABLE edge_cache_keys (
     edge TEXT NOT NULL,
     cache_key TEXT NOT NULL,
     recorded_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (edge, cache_key)
   ) WITHOUT ROWID;
   CREATE INDEX edge_cache_keys_expiry ON edge_cache_keys (expires_at);
   CREATE TABLE edge_cache_key_tags (
     edge TEXT NOT NULL,
     edge_key TEXT NOT NULL,
     cache_key TEXT NOT NULL,
     PRIMARY KEY (edge, edge_key, cache_key)
   ) WITHOUT ROWID;
   CREATE INDEX edge_cache_key_tags_cache_key ON edge_cache_key_tags (edge, cache_key);`,
  // When and by whom (`automatic`, `operator`) an edge was last put back in rotation after a flush, and the last
  // error seen for it (a missed purge, a flush that failed); and each edge's last purge, for the status document.
  `ALTER TABLE edges ADD COLUMN readmitted_at INTEGER;
   ALTER TABLE edges ADD COLUMN readmitted_by TEXT;
   ALTER TABLE edges ADD COLUMN last_error TEXT;
   CREATE INDEX edge_purges_edge_state ON edge_purges (edge, state, updated_at);`,
];

/**
 * Applies the steps not applied yet. Processes may open a new data directory at once (a CLI beside a starting
 * server, two servers): each step reads the version under the write lock (BEGIN IMMEDIATE), so exactly one of
 * them applies it and the others see it done.
 */
function migrate(db: Db): void {
  const found = db.pragma('user_version', { simple: true }) as number;
  checkSchemaVersion(found, MIGRATIONS.length);
  if (found >= MIGRATIONS.length) return;
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    checkSchemaVersion(version, MIGRATIONS.length);
    if (version >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // one step per transaction, as before: a failed step leaves the ones before it applied
  }
}

/**
 * Runs a statement that writes and returns rows (`INSERT … RETURNING`, `UPDATE … RETURNING`) to its end, and
 * answers its first row.
 *
 * Invariant: never `.get()` such a statement. `.get()` steps once and then resets the statement, and
 * better-sqlite3 drops what that reset reports; outside a transaction, the reset is where SQLite commits. A
 * commit that fails there (a full disk: SQLITE_FULL) is rolled back while `.get()` still answers the row, so
 * the caller would acknowledge a write that was never stored. `.all()` steps to the end and throws instead.
 */
export function writeReturning<Row>(statement: Database.Statement, ...params: unknown[]): Row | undefined {
  return statement.all(...params)[0] as Row | undefined;
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  // An unchanged value writes nothing: a server can start on a full disk when it has nothing new to record.
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value').run(key, value);
}
