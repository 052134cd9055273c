import type { Command } from 'commander';
import type { BackupResult } from '../store/sqlite/backup.ts';
import { sqliteFile } from '../store/open-stores.ts';
import { keyFilePath } from '../store/secret-keys.ts';
import { announceStore, storeOptions, storeSettings, type StoreFlags } from './stores.ts';

/** `pictor backup FILE`: a consistent copy of the SQLite store, taken while servers keep serving (see store/sqlite/backup.ts). */
export function registerBackupCommand(program: Command): void {
  storeOptions(
    program
      .command('backup <file>')
      .description('copy the SQLite store to FILE while servers keep serving: a consistent, checked copy, mode 0600 (the key file is not in it)'),
  ).action(async (file: string, flags: StoreFlags) => {
    const { dataDir, databaseUrl, secretKeys } = storeSettings(flags);
    if (databaseUrl !== undefined) {
      throw new Error(
        'With --database the store is PostgreSQL, and nothing of it is in the data directory: back it up with PostgreSQL\'s own ' +
          'tools (pg_dump, or base backups with WAL archiving), and keep PICTOR_SECRET_KEY with them.',
      );
    }
    announceStore({ dataDir, databaseUrl }, { readOnly: true });
    const source = sqliteFile(dataDir);
    // better-sqlite3 is loaded by the command that uses it: the others start without it.
    const { backupSqliteStore } = await import('../store/sqlite/backup.ts');
    const result = await backupSqliteStore(source, file);
    const keyHome = secretKeys === undefined ? keyFilePath(dataDir) : 'PICTOR_SECRET_KEY';
    process.stdout.write(`Backed up ${source} to ${result.file} (${result.bytes} bytes; integrity checked).\n${keyAdvice(result, keyHome)}\n`);
  });
}

/** A backup restores only with the key of its Source secrets, which is never in the database: say which, and where it is. */
function keyAdvice(result: BackupResult, keyHome: string): string {
  if (result.sealingKeyId === undefined) return 'No server has started on this store yet, so it holds no Source secrets.';
  return `Its Source secrets open only with the key ${result.sealingKeyId}, from ${keyHome}: keep a copy of that key, a restore needs it.`;
}
