import type { SortKey, SourceFilter, SourceRecord } from './source-record.ts';
import type { AssetStore } from './asset-store.ts';
import type { EdgeCacheKeyStore } from './edge-cache-keys.ts';
import type { EdgePurgeStore } from './edge-purge-store.ts';
import type { EdgeStore } from './edge-store.ts';
import type { NodeStates } from './node-states.ts';
import type { PurgeLog } from './purge-log.ts';
import type { SignInFailureStore } from './sign-in-failures.ts';
import type { TakedownStore } from './takedown-store.ts';
import type { VideoStore } from './video-store.ts';
import type { WebhookStore } from './webhook-store.ts';

/**
 * Every kind of stored state, behind one async interface per kind, with one implementation set per backend:
 * SQLite (sqlite/: one machine, the default; better-sqlite3 stays synchronous inside) and PostgreSQL
 * (postgres/: shared by every node of a cluster). Nothing outside src/store/ writes SQL or knows which
 * backend it runs on; callers only await these methods, so they run unchanged on either.
 */

/** Small named values: the default Source's id, whether the first start ran, the key that seals secrets. */
export interface MetaStore {
  get(key: string): Promise<string | undefined>;
  /** An unchanged value writes nothing: a server can start on a full disk when it has nothing new to record. */
  set(key: string, value: string): Promise<void>;
}

/** A list query in the store's terms: filter values as stored (hosts normalised, labels lowercase). */
export interface SourceListing {
  filters: readonly SourceFilter[];
  sort: readonly SortKey[];
  /** Absent: every matching Source. */
  page?: { offset: number; limit: number } | undefined;
}

/** The Source that already holds a domain, named in the refusal. */
export interface DomainOwner {
  id: string;
  name: string;
}

/** A domain a write adds: a subdomain label, a host, or both (`<label>.<base domain>`), and the error if another Source holds it. */
export interface DomainClaim {
  label?: string | undefined;
  host?: string | undefined;
  refuse(owner: DomainOwner): Error;
}

/** What `SourceStore.saveChecked` writes: the record, and the domains no other Source may hold. */
export interface SourceWrite {
  record: SourceRecord;
  claims: readonly DomainClaim[];
}

/** Called with the id of a Source another writer changed, or undefined when everything must be read again. */
export type SourceChangeListener = (id: string | undefined) => void;

export interface SourceStore {
  /** Every Source, in creation order. */
  all(): Promise<SourceRecord[]>;
  get(id: string): Promise<SourceRecord | undefined>;
  /** The Sources matching every filter, sorted (ties in creation order), one page if asked, and how many match in all. */
  list(listing: SourceListing): Promise<{ records: SourceRecord[]; total: number }>;
  /** The first-created Source other than `exceptId` holding this label, or this host (either may be left out). */
  domainOwner(claim: { label?: string | undefined; host?: string | undefined }, exceptId: string): Promise<DomainOwner | undefined>;
  /** Writes a Source as it is, without domain checks (the default Source at start, tests). */
  upsert(record: SourceRecord): Promise<void>;
  /**
   * Reads the Source `id` (undefined when new), lets `build` decide what to write, refuses the write when
   * another Source holds one of its claims (`claim.refuse`), and writes it: all in one transaction that no
   * other writer (process or node) interleaves with, so the uniqueness check still holds at commit.
   * `build` may throw to refuse; nothing is written then.
   */
  saveChecked(id: string, build: (current: SourceRecord | undefined) => SourceWrite): Promise<SourceRecord>;
  /**
   * Seals every secret stored with the current key — the Sources' and those of the sealed columns
   * (sealed-columns.ts: webhooks' secrets) — older keys and plain text alike, in one transaction, and records
   * that key's id. Opens every one on the way: a secret the keys cannot open stops it (SecretKeyError).
   */
  sealAll(): Promise<{ sealed: number; resealed: number }>;
  /**
   * Reads the keys of Source secrets now, as a first read or write of a Source would (the key file of a new
   * data directory is created then), and opens every stored secret (Sources', sealed columns'): refuses keys
   * that cannot open one of them.
   */
  checkKeys(): Promise<void>;
  /**
   * Tells `onChange` about Sources written by other writers (another process or node), within a second.
   * Resolves once watching, with the function that stops it.
   */
  watch(onChange: SourceChangeListener): Promise<() => Promise<void>>;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  key_hash: string;
  permissions: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ApiKeyStore {
  insert(row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>): Promise<void>;
  findActiveByHash(keyHash: string): Promise<ApiKeyRow | undefined>;
  list(): Promise<ApiKeyRow[]>;
  /** False when no active key has this id. */
  revoke(id: string, at: number): Promise<boolean>;
  touch(id: string, at: number): Promise<void>;
}

/** Dashboard accounts (`dashboard_users`): salted password hashes. */
export interface AccountStore {
  exists(username: string): Promise<boolean>;
  passwordHash(username: string): Promise<string | undefined>;
  /** Creates the account unless it exists; true when this call created it. */
  createIfMissing(username: string, passwordHash: string, at: number): Promise<boolean>;
  /** Sets (or creates) the account's password and, in the same transaction, ends its sessions and forgets its devices. */
  setPassword(username: string, passwordHash: string, at: number): Promise<{ created: boolean; sessionsEnded: number; devicesForgotten: number }>;
}

export interface SessionRow {
  id_hash: string;
  username: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** Dashboard sessions (`dashboard_sessions`), by the SHA-256 of the cookie. */
export interface SessionStore {
  /** Adds a session, dropping the sessions expired by its `created_at`. */
  create(row: SessionRow): Promise<void>;
  find(idHash: string): Promise<SessionRow | undefined>;
  delete(idHash: string): Promise<void>;
}

export interface DeviceRow {
  id_hash: string;
  username: string;
  signed_in_at: number;
  expires_at: number;
}

/** Trusted dashboard browsers (`dashboard_devices`), by the SHA-256 of the device cookie. */
export interface DeviceStore {
  /** Adds a device in place of `replaces` (if given); drops expired devices, and the account's oldest beyond `keepPerAccount`. */
  insert(row: DeviceRow, options: { replaces: string | undefined; keepPerAccount: number }): Promise<void>;
  find(idHash: string): Promise<DeviceRow | undefined>;
  delete(idHash: string): Promise<void>;
  /** Forgets every device of an account; answers how many there were. */
  deleteForAccount(username: string): Promise<number>;
}

/** The meta key set when the first admin API key is recorded (by FirstStartStore.record; older releases set it too). */
export const FIRST_START_META = 'initialized';

/** What the first start that comes up records: the first admin API key and the dashboard's `admin` account. */
export interface FirstCredentials {
  apiKey: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>;
  adminUsername: string;
  adminPasswordHash: string;
  at: number;
}

/**
 * The first-start credentials, written once for a whole cluster. Only the caller told it wrote one may show
 * it (it is never stored in plain text), so nodes starting at once print one key and one password.
 */
export interface FirstStartStore {
  /**
   * In one transaction: the API key unless a first start already recorded one (`FIRST_START_META`), and the
   * account unless it exists. Says which of the two it wrote.
   */
  record(credentials: FirstCredentials): Promise<{ apiKey: boolean; account: boolean }>;
}

/** A token bucket per caller. */
export interface RateLimitStore {
  /** 0 when the call may proceed (a token was taken), else the whole seconds to wait (for `Retry-After`). */
  take(caller: string): Promise<number>;
}

export interface Stores {
  /** For logs and messages: `SQLite at /x/pictor.db`, `PostgreSQL at host:port/db` (never a password). */
  describe: string;
  meta: MetaStore;
  sources: SourceStore;
  apiKeys: ApiKeyStore;
  accounts: AccountStore;
  firstStart: FirstStartStore;
  sessions: SessionStore;
  devices: DeviceStore;
  /** The dashboard's failed sign-ins, counted for every node together. */
  signInFailures: SignInFailureStore;
  /** The Asset Manager's index. */
  assets: AssetStore;
  /** The edges registry: Varnish and nginx in front of Pictor, CDNs purged through their APIs. */
  edges: EdgeStore;
  /** Each purge's state at each edge. */
  edgePurges: EdgePurgeStore;
  /** The cache keys nginx edges may hold. */
  edgeCacheKeys: EdgeCacheKeyStore;
  takedowns: TakedownStore;
  /** The Video API's state of each video. */
  videos: VideoStore;
  /** Webhooks, and the outbox of their deliveries. */
  webhooks: WebhookStore;
  /** Every purge, numbered, with the marks of the scopes it purged; `purgeLog.shared` when nodes share it. */
  purgeLog: PurgeLog;
  /** The nodes applying the purge log, and their leases. */
  nodes: NodeStates;
  /**
   * A token bucket per caller, `ratePerSecond` tokens a second up to `burst`; `name` keeps limiters apart.
   * SQLite: in this process's memory. PostgreSQL: one row per caller, so the limit holds across nodes.
   */
  rateLimiter(name: string, ratePerSecond: number, burst?: number): RateLimitStore;
  /**
   * Runs `fn` while no other node runs a bootstrap: first-start setup checks and creates under it, so nodes
   * starting at once on an empty database create each thing once.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
