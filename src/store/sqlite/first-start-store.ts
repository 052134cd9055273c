import { FIRST_START_META, type FirstCredentials, type FirstStartStore } from '../stores.ts';
import type { Db } from './db.ts';

/**
 * One synchronous transaction: safe while the server serves, since better-sqlite3 runs it whole, with no
 * other statement of this process in between, and another process waits for it.
 */
export class SqliteFirstStartStore implements FirstStartStore {
  constructor(private readonly db: Db) {}

  async record(credentials: FirstCredentials): Promise<{ apiKey: boolean; account: boolean }> {
    const { apiKey: row, adminUsername, adminPasswordHash, at } = credentials;
    return this.db.transaction(() => {
      const claimed = this.db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(FIRST_START_META, new Date(at).toISOString());
      const apiKey = claimed.changes === 1;
      if (apiKey) {
        this.db
          .prepare('INSERT INTO api_keys (id, name, key_hash, permissions, created_at) VALUES (@id, @name, @key_hash, @permissions, @created_at)')
          .run(row);
      }
      const account = this.db
        .prepare('INSERT OR IGNORE INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(adminUsername, adminPasswordHash, at, at);
      return { apiKey, account: account.changes === 1 };
    })();
  }
}
