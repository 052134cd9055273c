import { PictorError } from '../errors.ts';

/**
 * SQLite and PostgreSQL failures that say the store cannot write now (a full or read-only disk, an I/O error, a lock held
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
  // PostgreSQL: the server unreachable, shutting down or restarting, out of connections, or a conflict to retry.
  [/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|ENOTFOUND|EAI_AGAIN)$/, 'its server cannot be reached'],
  [/^08/, 'the connection to its server failed'],
  [/^57P0[1-3]$/, 'its server is shutting down or starting'],
  [/^53/, 'its server is out of resources'],
  [/^(40001|40P01)$/, 'a conflicting write got there first'],
  [/^57014$/, 'a statement took too long'],
  [/^25006$/, 'its server is read-only'],
];

/** pg's own errors carry no code: a pooled connection lost, or none free in time. */
const PG_MESSAGES: [RegExp, string][] = [
  [/^Connection terminated/, 'the connection to its server was lost'],
  // Also what pg-pool says when every connection of the pool stayed busy for the connection timeout.
  [/^timeout exceeded when trying to connect/, 'its server cannot be reached, or all its connections are busy'],
  [/^Client has encountered a connection error/, 'the connection to its server was lost'],
  [/not queryable/, 'the connection to its server was lost'],
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

/** Why the store cannot be used, with SQLite's code (`the disk holding it is full: SQLITE_FULL`), or undefined. */
export function storeFaultReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = error instanceof Error ? error.message : '';
    return PG_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
  }
  const reason = FAULTS.find(([pattern]) => pattern.test(code))?.[1];
  return reason === undefined ? undefined : `${reason}: ${code}`;
}
