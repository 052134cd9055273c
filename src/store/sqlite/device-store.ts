import type { Db } from './db.ts';
import type { DeviceRow, DeviceStore } from '../stores.ts';

/** Trusted dashboard browsers, in `dashboard_devices`: the SHA-256 of each device cookie and its account. */
export class SqliteDeviceStore implements DeviceStore {
  constructor(private readonly db: Db) {}

  async insert(row: DeviceRow, options: { replaces: string | undefined; keepPerAccount: number }): Promise<void> {
    this.db.transaction(() => {
      if (options.replaces !== undefined) this.db.prepare('DELETE FROM dashboard_devices WHERE id_hash = ?').run(options.replaces);
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

  async find(idHash: string): Promise<DeviceRow | undefined> {
    return this.db.prepare('SELECT * FROM dashboard_devices WHERE id_hash = ?').get(idHash) as DeviceRow | undefined;
  }

  async delete(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM dashboard_devices WHERE id_hash = ?').run(idHash);
  }

  async deleteForAccount(username: string): Promise<number> {
    return forgetDevices(this.db, username);
  }
}

export function forgetDevices(db: Db, username: string): number {
  return db.prepare('DELETE FROM dashboard_devices WHERE username = ?').run(username).changes;
}
