import type { Command } from 'commander';
import { DEFAULTS, resolveStoreSettings, type StoreSettings } from '../config/options.ts';
import { openStores } from '../store/open-stores.ts';
import type { Stores } from '../store/stores.ts';

export interface StoreFlags {
  data?: string;
  database?: string;
}

/** `--data` and `--database`, as `serve` reads them (with the same environment variables). */
export function storeOptions(command: Command): Command {
  return command
    .option('--data <dir>', `data directory (env PICTOR_DATA_DIR, default ${DEFAULTS.dataDir})`)
    .option('--database <url>', "a cluster's PostgreSQL, postgres://USER@HOST:PORT/DB (env PICTOR_DATABASE_URL); else SQLite under --data");
}

/** The stores' settings, resolved as for `serve`. */
export function storeSettings(flags: StoreFlags): StoreSettings {
  return resolveStoreSettings({ dataDir: flags.data, databaseUrl: flags.database });
}

/**
 * Opens the stores `serve` would open with the same flags and environment, runs `use`, closes them. Works
 * whether or not a server is running on them (SQLite WAL; PostgreSQL); a running server sees Source changes
 * within a second. The keys of Source secrets are read only if `use` reads or writes a Source.
 */
export async function withStores<T>(flags: StoreFlags, use: (stores: Stores) => Promise<T>): Promise<T> {
  const stores = await openStores({ ...storeSettings(flags), secrets: 'when-used' });
  try {
    return await use(stores);
  } finally {
    await stores.close();
  }
}
