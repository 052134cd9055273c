import type { Db } from './db.ts';

export interface DeviceRow {
  id_hash: string;
  username: string;
  signed_in_at: number;
  expires_at: number;
}

/** Trusted dashboard browsers, in `dashboard_devices`: the SHA-256 of each device cookie and its account. */
export class DeviceStore {
  constructor(private readonly db: Db) {}

  /** Adds a device in place of `replaces` (if given); drops expired devices, and the account's oldest beyond `keepPerAccount`. */
  insert(row: DeviceRow, options: { replaces: string | undefined; keepPerAccount: number }): void {
    this.db.transaction(() => {
      if (options.replaces !== undefined) this.delete(options.replaces);
      this.db.prepare('DELETE FROM dashboard_devices WHERE expires_at <= ?').run(row.signed_in_at);
      this.db.prepare('INSERT INTO dashboard_devices (id_hash, username, signed_in_at, expires_at) VALUES (@id_hash, @username, @signed_in_at, @expires_at)').run(row);
      this.db
        .prepare(
          `DELETE FROM dashboard_devices WHERE username = ? AND id_hash NOT IN (
             SELECT id_hash FROM dashboard_devices WHERE username = ? ORDER BY signed_in_at DESC, id_hash LIMIT ?)`,
        )
        .run(row.username, row.username, options.keepPerAccount);
    })();
  }

  find(idHash: string): DeviceRow | undefined {
    return this.db.prepare('SELECT * FROM dashboard_devices WHERE id_hash = ?').get(idHash) as DeviceRow | undefined;
  }

  delete(idHash: string): void {
    this.db.prepare('DELETE FROM dashboard_devices WHERE id_hash = ?').run(idHash);
  }

  /** Forgets every device of an account; answers how many there were. */
  deleteForAccount(username: string): number {
    return this.db.prepare('DELETE FROM dashboard_devices WHERE username = ?').run(username).changes;
  }
}
