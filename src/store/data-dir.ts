import fs from 'node:fs';

/**
 * Security invariant: what Pictor keeps in its data directory is readable by its owner only. The directory
 * is created mode 0700 (an existing one keeps the mode its operator gave it); the key file (secret-keys.ts)
 * and the SQLite store with its log and shared-memory files are mode 0600, also when they already existed
 * with a looser mode. The store holds API key hashes, dashboard password hashes and session hashes, and
 * Source secrets sealed with the key file beside it: readable by others, the two together open them.
 */
export function ensureDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/**
 * Makes the SQLite file (created empty if missing) and its `-wal` and `-shm` files mode 0600. SQLite gives the
 * files it creates beside a database the database file's mode, so they are created 0600 from then on.
 */
export function restrictDatabaseFiles(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch {
    // There already (EEXIST), or it cannot be made (a full or read-only disk): SQLite opens it or says why not.
  }
  for (const each of [file, `${file}-wal`, `${file}-shm`]) ownerOnly(each);
}

function ownerOnly(file: string): void {
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((mode & 0o077) === 0) return;
  try {
    fs.chmodSync(file, mode & 0o700);
  } catch (error) {
    // On a read-only disk nothing can change the mode, nor write there: the store reports that itself.
    if ((error as NodeJS.ErrnoException).code !== 'EROFS') throw error;
  }
}
