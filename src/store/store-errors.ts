import { PictorError } from '../errors.ts';

/**
 * SQLite failures that say the store cannot write now (a full or read-only disk, an I/O error, a lock held
 * too long by another process), as opposed to a bug in a statement. Each becomes STORE_UNAVAILABLE (503):
 * nothing was recorded, and the same request can succeed once the condition is gone.
 */
const FAULTS: [RegExp, string][] = [
  [/^SQLITE_FULL/, 'the disk holding it is full'],
  [/^SQLITE_IOERR_SHM/, 'there is no room for its shared-memory file: the disk holding it is full'],
  [/^SQLITE_READONLY/, 'it is read-only'],
  [/^SQLITE_IOERR/, 'the disk reported an I/O error'],
  [/^SQLITE_CANTOPEN/, 'its files cannot be opened'],
  [/^SQLITE_(BUSY|LOCKED)/, 'another process has held its write lock too long'],
  [/^SQLITE_NOMEM/, 'it ran out of memory'],
];

/** The STORE_UNAVAILABLE error for a storage fault, or undefined for any other error. */
export function storeFault(error: unknown): PictorError | undefined {
  if (error instanceof PictorError) return error.code === 'STORE_UNAVAILABLE' ? error : undefined;
  const reason = storeFaultReason(error);
  if (reason === undefined) return undefined;
  return new PictorError('STORE_UNAVAILABLE', `Pictor cannot write to its store (${reason}), so nothing was recorded; try again shortly.`, {
    headers: { 'retry-after': '5' },
    cause: error,
  });
}

/**
 * PostgreSQL (a cluster's store) cannot be reached or is going away: connection errors from the socket,
 * SQLSTATE classes 08 (connection exception), 57P0x (shutdown, cannot connect now), 53300 (too many
 * connections), and node-postgres' own messages for a lost or timed-out connection.
 */
const PG_FAULTS: [RegExp, string][] = [
  [/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND)$/, 'the database cannot be reached'],
  [/^08/, 'the connection to the database failed'],
  [/^57P0[1-3]$/, 'the database is shutting down or starting'],
  [/^53300$/, 'the database has no free connection'],
  [/^25006$/, 'the database is read-only'],
];
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|not queryable|Query read timeout/i;

/** Why the store cannot be used, with its code (`the disk holding it is full: SQLITE_FULL`), or undefined. */
export function storeFaultReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const reason = FAULTS.find(([pattern]) => pattern.test(code))?.[1] ?? PG_FAULTS.find(([pattern]) => pattern.test(code))?.[1];
    if (reason !== undefined) return `${reason}: ${code}`;
  }
  const message = error instanceof Error ? error.message : undefined;
  if (message !== undefined && PG_MESSAGES.test(message)) return `the database cannot be reached: ${message}`;
  return undefined;
}
