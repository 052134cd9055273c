import type { Command } from 'commander';
import { resolveStoreSettings, type StoreSettings } from '../config/options.ts';
import { SETTINGS } from '../config/settings.ts';
import { describeStoreSettings, openStores, storeExists } from '../store/open-stores.ts';
import type { Stores } from '../store/stores.ts';
import { addSettingOptions, settingFlags } from './setting-options.ts';

export interface StoreFlags {
  data?: string;
  database?: string;
}

const STORE_SETTINGS = ['dataDir', 'databaseUrl'] as const;

/** `--data` and `--database`, as `serve` reads them (with the same environment variables). */
export function storeOptions(command: Command): Command {
  return addSettingOptions(command, SETTINGS, STORE_SETTINGS);
}

/** The stores' settings, resolved as for `serve`. */
export function storeSettings(flags: StoreFlags): StoreSettings {
  return resolveStoreSettings(settingFlags(SETTINGS, { ...flags }, STORE_SETTINGS));
}

/** A read-only command found no store to read: exit status 2, as for a usage error. */
export class NoStoreError extends Error {
  readonly exitCode = 2;
}

export interface StoreUse {
  /** Reads only: refuse to create a store that does not exist (a new, empty one would only mislead). */
  readOnly?: boolean;
}

/**
 * Says on stderr which store a command works on (stdout stays for its results, `--json` included), and for a
 * read-only command checks that the store exists: run from another directory, the default `./.pictor` is
 * not the server's, and an empty table would look like an answer.
 */
export function announceStore(settings: Pick<StoreSettings, 'dataDir' | 'databaseUrl'>, use: StoreUse = {}): void {
  if (use.readOnly && !storeExists(settings)) {
    throw new NoStoreError(
      `there is no Pictor store in ${settings.dataDir} (no pictor.db): give the server's data directory with --data DIR ` +
        'or PICTOR_DATA_DIR (or its database with --database)',
    );
  }
  process.stderr.write(`Store: ${describeStoreSettings(settings)}\n`);
}

/**
 * Opens the stores `serve` would open with the same flags and environment, runs `use`, closes them. Works
 * whether or not a server is running on them (SQLite WAL; PostgreSQL); a running server sees Source changes
 * within a second. The keys of Source secrets are read only if `use` reads or writes a Source.
 */
export async function withStores<T>(flags: StoreFlags, use: (stores: Stores) => Promise<T>, how: StoreUse = {}): Promise<T> {
  const settings = storeSettings(flags);
  announceStore(settings, how);
  const stores = await openStores({ ...settings, secrets: 'when-used' });
  try {
    return await use(stores);
  } finally {
    await stores.close();
  }
}
