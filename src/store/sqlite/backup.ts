import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { getMeta } from './db.ts';
import { SEALING_KEY_META } from '../source-secrets.ts';

export interface BackupResult {
  /** The backup file, as an absolute path. */
  file: string;
  bytes: number;
  /** The id of the key the backup's Source secrets are encrypted with (undefined before a server's first start). */
  sealingKeyId: string | undefined;
}

/**
 * Copies the SQLite store `source` to `destination` while servers keep reading and writing it, with SQLite's
 * online backup API.
 *
 * Why it is consistent: every page is copied in one backup step, and a step reads inside one read
 * transaction. In WAL mode a reader never blocks the server's writers, and what it reads is one committed
 * state: every purge acknowledged before the step began is in the copy, none half-written. (Copied a few
 * pages at a time instead, a write by the server between two steps would start the copy over.)
 *
 * Security invariant: the copy holds what the store holds (key digests, password hashes, encrypted Source
 * secrets), so it is created mode 0600, like the store, and it is written beside the destination and renamed
 * over it only once it is complete, synced and checked: a failed backup never replaces a good one.
 */
export async function backupSqliteStore(source: string, destination: string): Promise<BackupResult> {
  const file = path.resolve(destination);
  refuseLiveFiles(source, file);
  const folder = path.dirname(file);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`the folder ${folder} does not exist: create it, or write the backup elsewhere`);
  const partial = path.join(folder, `.${path.basename(file)}.${process.pid}.partial`);
  try {
    fs.closeSync(fs.openSync(partial, 'wx', 0o600));
  } catch (error) {
    throw new Error(`cannot write the backup in ${folder}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // No migration, no pragma that writes: a backup changes nothing in the store it copies.
    const db = new Database(source, { fileMustExist: true });
    let sealingKeyId: string | undefined;
    try {
      db.pragma('busy_timeout = 5000');
      await db.backup(partial, { progress: () => ALL_PAGES });
      sealingKeyId = getMeta(db, SEALING_KEY_META);
    } finally {
      db.close();
    }
    checkIntegrity(partial);
    syncFile(partial);
    fs.renameSync(partial, file);
    syncFile(folder);
    return { file, bytes: fs.statSync(file).size, sealingKeyId };
  } finally {
    for (const leftover of [partial, `${partial}-journal`, `${partial}-wal`, `${partial}-shm`]) fs.rmSync(leftover, { force: true });
  }
}

/** SQLite's largest step: the whole database in one step (better-sqlite3 clamps the rate to this). */
const ALL_PAGES = 0x7fffffff;

/** A backup over the store itself (or its log) would destroy the very thing it copies. */
function refuseLiveFiles(source: string, file: string): void {
  const live = path.resolve(source);
  if ([live, `${live}-wal`, `${live}-shm`, `${live}-journal`].includes(file)) {
    throw new Error(`${file} is the store itself or one of its files: write the backup elsewhere`);
  }
}

/** Opens the copy read-only and checks every page and index, so a backup is never kept unverified. */
function checkIntegrity(file: string): void {
  const copy = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = copy.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((row) => row.integrity_check).filter((line) => line !== 'ok');
    if (problems.length > 0) throw new Error(`the backup failed its integrity check: ${problems.slice(0, 5).join('; ')}`);
  } finally {
    copy.close();
  }
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
