import fs from 'node:fs';
import path from 'node:path';
import { ensureDataDir } from './data-dir.ts';
import { describeUrl } from './postgres/describe-url.ts';
import type { Stores } from './stores.ts';

export interface StoreSettings {
  /** This node's data directory: the SQLite file without `databaseUrl`, and the secret key file without `secretKeys`. */
  dataDir: string;
  /** `postgres://…`: the shared database of a cluster; absent, SQLite under `dataDir`. */
  databaseUrl?: string | undefined;
  /** `PICTOR_SECRET_KEY`, already validated. */
  secretKeys?: Buffer[] | undefined;
  /**
   * `when-used`: the keys of Source secrets are read when a Source is first read or written, so commands that
   * touch no Source (`keys`, `admin`) work without them. Default `at-open`: a wrong key stops the open.
   */
  secrets?: 'at-open' | 'when-used';
  /**
   * Told whether the store could write as purges are recorded: what stops it (a full disk, a lock held too
   * long), or undefined once it writes again.
   */
  onWriteOutcome?: (problem: string | undefined) => void;
}

/** The stores a server or a CLI command works with: PostgreSQL when a database URL is given, else SQLite. */
export async function openStores(settings: StoreSettings): Promise<Stores> {
  // Before anything else writes there (the disk cache, the key file): a new data directory is its owner's only.
  ensureDataDir(settings.dataDir);
  // Each backend's driver is loaded only when used: a CLI command on SQLite never loads the PostgreSQL one.
  if (settings.databaseUrl !== undefined) return (await import('./postgres/stores.ts')).openPostgresStores(settings.databaseUrl, settings);
  return (await import('./sqlite/stores.ts')).openSqliteStores(settings);
}

/** The SQLite file of a data directory. */
export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'pictor.db');
}

/**
 * Whether there is a store to read: a data directory's SQLite file exists; a database URL names one (whether
 * it can be reached is known only once it is opened).
 */
export function storeExists(settings: Pick<StoreSettings, 'dataDir' | 'databaseUrl'>): boolean {
  return settings.databaseUrl !== undefined || fs.existsSync(sqliteFile(settings.dataDir));
}

/** Where the stores are, for a message that says what cannot be used: `the store in /x`, `the database host:port/db`. */
export function storeLocation(settings: Pick<StoreSettings, 'dataDir' | 'databaseUrl'>): string {
  return settings.databaseUrl === undefined ? `the store in ${settings.dataDir}` : `the database ${describeUrl(settings.databaseUrl)}`;
}

/** What `openStores` would open, as `Stores.describe` says it once open: `SQLite at /x/pictor.db`, `PostgreSQL at host:port/db`. */
export function describeStoreSettings(settings: Pick<StoreSettings, 'dataDir' | 'databaseUrl'>): string {
  return settings.databaseUrl === undefined ? `SQLite at ${sqliteFile(settings.dataDir)}` : `PostgreSQL at ${describeUrl(settings.databaseUrl)}`;
}
