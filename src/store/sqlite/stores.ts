import path from 'node:path';
import type { SecretBox } from '../secret-box.ts';
import { checkSameKeys, secretBoxFor } from '../secret-keys.ts';
import { SEALING_KEY_META } from '../source-secrets.ts';
import type { StoreSettings } from '../open-stores.ts';
import type { AccountStore, MetaStore, RateLimitStore, SessionRow, SessionStore, Stores } from '../stores.ts';
import { SqliteApiKeyStore } from './api-key-store.ts';
import { SqliteAssetStore } from './asset-store.ts';
import { getMeta, openDatabase, setMeta, type Db } from './db.ts';
import { forgetDevices, SqliteDeviceStore } from './device-store.ts';
import { SqliteEdgeCacheKeys } from './edge-cache-keys.ts';
import { SqliteEdgePurgeStore } from './edge-purge-store.ts';
import { SqliteFirstStartStore } from './first-start-store.ts';
import { SqliteEdgeStore } from './edge-store.ts';
import { GroupCommit } from './group-commit.ts';
import { SqliteNodeStates } from './node-states.ts';
import { SqlitePurgeLog } from './purge-log.ts';
import { SqliteSignInFailures } from './sign-in-failures.ts';
import { SqliteSourceStore, storedKeyIds } from './source-store.ts';
import { SqliteTakedownStore } from './takedown-store.ts';
import { RateLimiter } from './token-bucket.ts';
import { SqliteVideoStore } from './video-store.ts';
import { SqliteWebhookStore } from './webhook-store.ts';
import { OutboxSignal } from '../webhook-store.ts';

/**
 * The stores of one machine: one SQLite file under the data directory. A server and the CLI may use it at
 * once (WAL); a running server sees Sources written by the CLI within a second (SourceStore.watch).
 */
export function openSqliteStores(settings: Omit<StoreSettings, 'databaseUrl'>): Stores {
  const { dataDir, secretKeys } = settings;
  const db = openDatabase(dataDir);
  try {
    const keys = (): SecretBox => openSecrets(db, dataDir, secretKeys);
    // Read when used (the CLI, beside a running server): keys without the server's would seal what it cannot open.
    const checkedKeys = (): SecretBox => {
      const box = keys();
      checkSameKeys(getMeta(db, SEALING_KEY_META), box);
      return box;
    };
    const secrets = settings.secrets === 'when-used' ? checkedKeys : keys();
    const commits = new GroupCommit(db, settings.onWriteOutcome);
    const outbox = new OutboxSignal();
    const purgeLog = new SqlitePurgeLog(db, commits, outbox);
    return {
      describe: `SQLite at ${path.join(dataDir, 'pictor.db')}`,
      meta: new SqliteMetaStore(db),
      sources: new SqliteSourceStore(db, secrets),
      apiKeys: new SqliteApiKeyStore(db),
      accounts: new SqliteAccountStore(db),
      firstStart: new SqliteFirstStartStore(db),
      sessions: new SqliteSessionStore(db),
      devices: new SqliteDeviceStore(db),
      signInFailures: new SqliteSignInFailures(db),
      assets: new SqliteAssetStore(db, outbox),
      edges: new SqliteEdgeStore(db, secrets),
      edgePurges: new SqliteEdgePurgeStore(db),
      edgeCacheKeys: new SqliteEdgeCacheKeys(db),
      takedowns: new SqliteTakedownStore(db, outbox),
      videos: new SqliteVideoStore(db),
      webhooks: new SqliteWebhookStore(db, secrets, outbox),
      purgeLog,
      nodes: new SqliteNodeStates(db, purgeLog),
      rateLimiter: (_name, ratePerSecond, burst) => new MemoryRateLimit(ratePerSecond, burst),
      exclusive: (fn) => exclusive(db, fn),
      close: async () => {
        if (!db.open) return;
        commits.flush();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The SecretBox of a data directory: from `envKeys` (already validated), else from the key file, which is
 * created when missing — unless the database already holds secrets, which a new key could not read.
 */
function openSecrets(db: Db, dataDir: string, envKeys: Buffer[] | undefined): SecretBox {
  return secretBoxFor(dataDir, envKeys, () => ({ inUse: [...storedKeyIds(db)], recorded: getMeta(db, SEALING_KEY_META) }));
}

/**
 * Runs `fn` inside one write transaction taken at once (BEGIN IMMEDIATE): another process waits for it, and
 * everything `fn` writes on this connection commits together (transactions inside become savepoints). Only
 * for work done before a server serves, when nothing else uses the connection.
 */
async function exclusive<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = await fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

export class SqliteMetaStore implements MetaStore {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<string | undefined> {
    return getMeta(this.db, key);
  }

  async set(key: string, value: string): Promise<void> {
    setMeta(this.db, key, value);
  }
}

export class SqliteAccountStore implements AccountStore {
  constructor(private readonly db: Db) {}

  async exists(username: string): Promise<boolean> {
    return this.db.prepare('SELECT 1 FROM dashboard_users WHERE username = ?').get(username) !== undefined;
  }

  async passwordHash(username: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT password_hash FROM dashboard_users WHERE username = ?').get(username) as { password_hash: string } | undefined;
    return row?.password_hash;
  }

  async createIfMissing(username: string, passwordHash: string, at: number): Promise<boolean> {
    const inserted = this.db
      .prepare('INSERT OR IGNORE INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)')
      .run(username, passwordHash, at, at);
    return inserted.changes === 1;
  }

  async setPassword(username: string, passwordHash: string, at: number): Promise<{ created: boolean; sessionsEnded: number; devicesForgotten: number }> {
    return this.db.transaction(() => {
      const created = this.db.prepare('SELECT 1 FROM dashboard_users WHERE username = ?').get(username) === undefined;
      this.db
        .prepare(
          `INSERT INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
        )
        .run(username, passwordHash, at, at);
      const sessionsEnded = this.db.prepare('DELETE FROM dashboard_sessions WHERE username = ?').run(username).changes;
      return { created, sessionsEnded, devicesForgotten: forgetDevices(this.db, username) };
    })();
  }
}

export class SqliteSessionStore implements SessionStore {
  constructor(private readonly db: Db) {}

  async create(row: SessionRow): Promise<void> {
    this.db.prepare('DELETE FROM dashboard_sessions WHERE expires_at <= ?').run(row.created_at);
    this.db
      .prepare('INSERT INTO dashboard_sessions (id_hash, username, csrf_token, created_at, expires_at) VALUES (@id_hash, @username, @csrf_token, @created_at, @expires_at)')
      .run(row);
  }

  async find(idHash: string): Promise<SessionRow | undefined> {
    return this.db.prepare('SELECT * FROM dashboard_sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
  }

  async delete(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM dashboard_sessions WHERE id_hash = ?').run(idHash);
  }
}

/** On one machine the rate limit lives in the server's memory, as it always did. */
class MemoryRateLimit implements RateLimitStore {
  private readonly limiter: RateLimiter;

  constructor(ratePerSecond: number, burst: number | undefined) {
    this.limiter = new RateLimiter(ratePerSecond, burst);
  }

  async take(caller: string): Promise<number> {
    return this.limiter.take(caller);
  }
}
