import type { SecretBox } from '../secret-box.ts';
import { checkSameKeys, secretBoxFor } from '../secret-keys.ts';
import { SEALING_KEY_META, sealingKeyIds } from '../source-secrets.ts';
import type { StoreSettings } from '../open-stores.ts';
import type { AccountStore, ApiKeyRow, ApiKeyStore, DeviceRow, DeviceStore, MetaStore, RateLimitStore, SessionRow, SessionStore, Stores } from '../stores.ts';
import { describeUrl } from './describe-url.ts';
import { createPool, LOCKS, migrate, PG_MIGRATIONS, withTransaction, type PgPool } from './database.ts';
import { PgAssetStore } from './asset-store.ts';
import { PgEdgeCacheKeys } from './edge-cache-keys.ts';
import { PgEdgePurgeStore } from './edge-purge-store.ts';
import { PgEdgeStore } from './edge-store.ts';
import { PgFirstStartStore } from './first-start-store.ts';
import { Batcher } from './batcher.ts';
import { PgNodeStates } from './node-states.ts';
import { PgPurgeLog } from './purge-log.ts';
import { columnKeyIds } from './sealed-columns.ts';
import { PgSignInFailures } from './sign-in-failures.ts';
import { edgeKeyIds, PgSourceStore, storedSecretRows } from './source-store.ts';
import { PgTakedownStore } from './takedown-store.ts';
import { PgVideoStore } from './video-store.ts';
import { PgWebhookStore } from './webhook-store.ts';
import { OutboxSignal } from '../webhook-store.ts';

/**
 * The stores of a cluster: one PostgreSQL database shared by every node (and the CLI). Migrations run here
 * under their advisory lock, so nodes may start at once. Every node needs the same secret key: a node whose
 * keys do not include the one the database's secrets are sealed with stops here (SecretKeyError).
 */
export async function openPostgresStores(url: string, settings: Omit<StoreSettings, 'databaseUrl'>): Promise<Stores> {
  const { dataDir, secretKeys } = settings;
  const pool = createPool({ url });
  // The writes after a purge's durable append (each node's count of what it held and its acknowledgement,
  // each edge's state, the completion) record steps that are done again when a crash of PostgreSQL loses
  // them: every step is idempotent, and a purge cannot be completed without them, since its completion is
  // written after them (the WAL keeps that order). So they do not wait for the flush the durable writes (the
  // append above all) wait for, and each is one statement: one round trip on the way to a purge's
  // completion. They have a pool of their own so that a burst of them never holds up the requests' queries;
  // the one such write on a request's path (a rate limit's take, TAKE) sets the same for its own statement.
  const lazy = createPool({ url, max: 8, lazyCommit: true });
  try {
    await migrate(pool, PG_MIGRATIONS);
    const meta = new PgMetaStore(pool);
    const keys = async (): Promise<SecretBox> => {
      const recorded = await meta.get(SEALING_KEY_META);
      const inUse = [...(await columnKeyIds(pool, sealingKeyIds(await storedSecretRows(pool)))), ...(await edgeKeyIds(pool))];
      const box = secretBoxFor(dataDir, secretKeys, () => ({ inUse, recorded }), true);
      checkSameKeys(recorded, box, true);
      return box;
    };
    let opening: Promise<SecretBox> | undefined;
    const secrets = (): Promise<SecretBox> => (opening ??= keys().catch((error: unknown) => ((opening = undefined), Promise.reject(error))));
    if (settings.secrets !== 'when-used') await secrets();
    const outbox = new OutboxSignal();
    return {
      describe: `PostgreSQL at ${describeUrl(url)}`,
      meta,
      sources: new PgSourceStore(pool, url, secrets),
      apiKeys: new PgApiKeyStore(pool),
      accounts: new PgAccountStore(pool),
      firstStart: new PgFirstStartStore(pool),
      sessions: new PgSessionStore(pool),
      devices: new PgDeviceStore(pool),
      signInFailures: new PgSignInFailures(pool),
      assets: new PgAssetStore(pool, outbox),
      edges: new PgEdgeStore(pool, secrets),
      edgePurges: new PgEdgePurgeStore(lazy),
      edgeCacheKeys: new PgEdgeCacheKeys(pool),
      takedowns: new PgTakedownStore(pool, url, outbox),
      videos: new PgVideoStore(pool),
      webhooks: new PgWebhookStore(pool, url, secrets, outbox),
      purgeLog: new PgPurgeLog(pool, lazy, url, outbox),
      nodes: new PgNodeStates(pool, lazy),
      rateLimiter: (name, ratePerSecond, burst) => new PgRateLimit(pool, name, ratePerSecond, burst),
      exclusive: (fn) => exclusive(pool, LOCKS.bootstrap, fn),
      close: async () => void (await Promise.all([pool.end(), lazy.end()])),
    };
  } catch (error) {
    await Promise.all([pool.end().catch(() => {}), lazy.end().catch(() => {})]);
    throw error;
  }
}


/** Holds a session-level advisory lock on a connection of its own while `fn` runs (on any connection). */
async function exclusive<T>(pool: PgPool, lock: number, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lock]);
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

/** BIGINT columns arrive as strings: the numbers this project stores (milliseconds, seconds) fit a double. */
function numbers<T extends object>(row: T, keys: readonly (keyof T & string)[]): T {
  const copy = { ...row } as Record<string, unknown>;
  for (const key of keys) if (copy[key] !== null && copy[key] !== undefined) copy[key] = Number(copy[key]);
  return copy as T;
}

class PgMetaStore implements MetaStore {
  constructor(private readonly pool: PgPool) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value IS DISTINCT FROM excluded.value',
      [key, value],
    );
  }
}

const KEY_TIMES = ['created_at', 'last_used_at', 'revoked_at'] as const;

/**
 * API keys. Every API request looks its key up: lookups of one key that arrive while one is in flight share
 * the next query (batcher.ts), so a burst of requests with one key costs a query per round trip, not per
 * request; each is still answered by a read that started after it arrived, so a revoked key is refused as
 * soon as the revocation is committed.
 */
class PgApiKeyStore implements ApiKeyStore {
  private readonly lookups = new Map<string, Batcher<void, ApiKeyRow | undefined>>();

  constructor(private readonly pool: PgPool) {}

  async findActiveByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    let calls = this.lookups.get(keyHash);
    if (!calls) this.lookups.set(keyHash, (calls = new Batcher((batch) => this.find(keyHash).then((row) => batch.map(() => row)), Infinity)));
    try {
      return await calls.add();
    } finally {
      // Only keys being looked up are kept: unknown keys cannot grow the map without bound.
      if (calls.idle && this.lookups.get(keyHash) === calls) this.lookups.delete(keyHash);
    }
  }

  private async find(keyHash: string): Promise<ApiKeyRow | undefined> {
    const row = (await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash])).rows[0];
    return row && numbers(row, KEY_TIMES);
  }

  async insert(row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>): Promise<void> {
    await this.pool.query('INSERT INTO api_keys (id, name, key_hash, permissions, created_at) VALUES ($1, $2, $3, $4, $5)', [
      row.id,
      row.name,
      row.key_hash,
      row.permissions,
      row.created_at,
    ]);
  }

  async list(): Promise<ApiKeyRow[]> {
    return (await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')).rows.map((row) => numbers(row, KEY_TIMES));
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return (await this.pool.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount === 1;
  }

  async touch(id: string, at: number): Promise<void> {
    await this.pool.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
  }
}

class PgAccountStore implements AccountStore {
  constructor(private readonly pool: PgPool) {}

  async exists(username: string): Promise<boolean> {
    return (await this.pool.query('SELECT 1 FROM dashboard_users WHERE username = $1', [username])).rowCount === 1;
  }

  async passwordHash(username: string): Promise<string | undefined> {
    return (await this.pool.query<{ password_hash: string }>('SELECT password_hash FROM dashboard_users WHERE username = $1', [username])).rows[0]?.password_hash;
  }

  async createIfMissing(username: string, passwordHash: string, at: number): Promise<boolean> {
    const inserted = await this.pool.query(
      'INSERT INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (username) DO NOTHING',
      [username, passwordHash, at],
    );
    return inserted.rowCount === 1;
  }

  async setPassword(username: string, passwordHash: string, at: number): Promise<{ created: boolean; sessionsEnded: number; devicesForgotten: number }> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ created: boolean }>(
        `INSERT INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at
         RETURNING (xmax = 0) AS created`,
        [username, passwordHash, at],
      );
      const sessionsEnded = (await client.query('DELETE FROM dashboard_sessions WHERE username = $1', [username])).rowCount ?? 0;
      const devicesForgotten = (await client.query('DELETE FROM dashboard_devices WHERE username = $1', [username])).rowCount ?? 0;
      return { created: rows[0]!.created, sessionsEnded, devicesForgotten };
    });
  }
}

class PgSessionStore implements SessionStore {
  constructor(private readonly pool: PgPool) {}

  async create(row: SessionRow): Promise<void> {
    await this.pool.query('DELETE FROM dashboard_sessions WHERE expires_at <= $1', [row.created_at]);
    await this.pool.query('INSERT INTO dashboard_sessions (id_hash, username, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      row.id_hash,
      row.username,
      row.csrf_token,
      row.created_at,
      row.expires_at,
    ]);
  }

  async find(idHash: string): Promise<SessionRow | undefined> {
    const row = (await this.pool.query<SessionRow>('SELECT * FROM dashboard_sessions WHERE id_hash = $1', [idHash])).rows[0];
    return row && numbers(row, ['created_at', 'expires_at']);
  }

  async delete(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM dashboard_sessions WHERE id_hash = $1', [idHash]);
  }
}

class PgDeviceStore implements DeviceStore {
  constructor(private readonly pool: PgPool) {}

  async insert(row: DeviceRow, options: { replaces: string | undefined; keepPerAccount: number }): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      if (options.replaces !== undefined) await client.query('DELETE FROM dashboard_devices WHERE id_hash = $1', [options.replaces]);
      await client.query('DELETE FROM dashboard_devices WHERE expires_at <= $1', [row.signed_in_at]);
      await client.query('INSERT INTO dashboard_devices (id_hash, username, signed_in_at, expires_at) VALUES ($1, $2, $3, $4)', [
        row.id_hash,
        row.username,
        row.signed_in_at,
        row.expires_at,
      ]);
      await client.query(
        `DELETE FROM dashboard_devices WHERE username = $1 AND id_hash NOT IN (
           SELECT id_hash FROM dashboard_devices WHERE username = $1 ORDER BY signed_in_at DESC, id_hash LIMIT $2)`,
        [row.username, options.keepPerAccount],
      );
    });
  }

  async find(idHash: string): Promise<DeviceRow | undefined> {
    const row = (await this.pool.query<DeviceRow>('SELECT * FROM dashboard_devices WHERE id_hash = $1', [idHash])).rows[0];
    return row && numbers(row, ['signed_in_at', 'expires_at']);
  }

  async delete(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM dashboard_devices WHERE id_hash = $1', [idHash]);
  }

  async deleteForAccount(username: string): Promise<number> {
    return (await this.pool.query('DELETE FROM dashboard_devices WHERE username = $1', [username])).rowCount ?? 0;
  }
}

/**
 * A token bucket per caller in `rate_limits`, from which `$4` calls take a token each, in one statement: the
 * row is locked (FOR UPDATE: a row another node just updated is read as it now is, so two nodes never spend
 * the same token), refilled to now, and as many of the calls as it holds tokens for take one; a caller's
 * first calls insert a full bucket less theirs. `remaining` is what is left for the calls that got none.
 * Time is the database's clock, the same for every node.
 */
const TAKE = `
  WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true)),
  locked AS (
    SELECT LEAST($2, tokens + GREATEST(0, extract(epoch FROM now()) - updated_at) * $3) AS refilled FROM rate_limits WHERE caller = $1 FOR UPDATE),
  granted AS (SELECT refilled, LEAST($4, floor(refilled))::int AS n FROM locked),
  taken AS (
    UPDATE rate_limits SET tokens = g.refilled - g.n, updated_at = GREATEST(updated_at, extract(epoch FROM now()))
    FROM granted g WHERE caller = $1 AND g.n > 0
    RETURNING g.n),
  created AS (
    INSERT INTO rate_limits (caller, tokens, updated_at)
    SELECT $1, $2 - LEAST($4, floor($2)), extract(epoch FROM now()) WHERE NOT EXISTS (SELECT 1 FROM locked)
    ON CONFLICT (caller) DO NOTHING RETURNING LEAST($4, floor($2))::int AS n, tokens)
  SELECT coalesce((SELECT n FROM taken), (SELECT n FROM created), 0) AS taken,
         coalesce((SELECT refilled - n FROM granted), (SELECT tokens FROM created)) AS remaining
  FROM lazy`;

/** Calls of one caller taken from its bucket in one statement at most. */
const MAX_TAKES = 500;

/**
 * Calls of one caller that arrive while its bucket is being written take their tokens together, in the next
 * statement (batcher.ts): the same tokens as one call after another, without queueing on the row's lock
 * for one transaction each.
 */
class PgRateLimit implements RateLimitStore {
  private readonly burst: number;
  private readonly callers = new Map<string, Batcher<void, number>>();

  constructor(
    private readonly pool: PgPool,
    private readonly name: string,
    private readonly ratePerSecond: number,
    burst: number | undefined,
  ) {
    this.burst = Math.max(1, burst ?? ratePerSecond);
  }

  async take(caller: string): Promise<number> {
    let calls = this.callers.get(caller);
    if (!calls) this.callers.set(caller, (calls = new Batcher((batch) => this.takeSome(caller, batch.length), MAX_TAKES)));
    try {
      return await calls.add();
    } finally {
      // Only callers with calls in flight are kept: varying callers cannot grow the map without bound.
      if (calls.idle && this.callers.get(caller) === calls) this.callers.delete(caller);
    }
  }

  /** The wait of each of `count` calls, in order: 0 for those that took a token. */
  private async takeSome(caller: string, count: number): Promise<number[]> {
    for (let attempt = 0; ; attempt++) {
      // Committed without waiting for the flush (the statement's own setting, TAKE): a bucket a crash rolls
      // back only gives a few tokens back. One statement, on the pool of the requests: every purge request
      // waits for it, and the pool of the writes after a purge's append is busy during a burst of them.
      const { rows } = await this.pool.query<{ taken: number; remaining: number | null }>(TAKE, [`${this.name}:${caller}`, this.burst, this.ratePerSecond, count]);
      const { taken, remaining } = rows[0]!;
      // Another node created this caller's bucket at the same moment: take from it now that it exists.
      if (remaining === null && attempt === 0) continue;
      const wait = Math.max(1, Math.ceil((1 - (remaining ?? 0)) / this.ratePerSecond));
      return Array.from({ length: count }, (_, i) => (i < taken ? 0 : wait));
    }
  }
}
