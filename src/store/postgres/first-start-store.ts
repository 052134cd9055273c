import { FIRST_START_META, type FirstCredentials, type FirstStartStore } from '../stores.ts';
import { withTransaction, type PgPool } from './database.ts';

/**
 * One transaction. Nodes starting at once insert the same meta key and account name: the second insert waits
 * for the first transaction and then does nothing, so exactly one node is told it wrote each.
 */
export class PgFirstStartStore implements FirstStartStore {
  constructor(private readonly pool: PgPool) {}

  async record(credentials: FirstCredentials): Promise<{ apiKey: boolean; account: boolean }> {
    const { apiKey: row, adminUsername, adminPasswordHash, at } = credentials;
    return withTransaction(this.pool, async (client) => {
      const claimed = await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
        FIRST_START_META,
        new Date(at).toISOString(),
      ]);
      const apiKey = claimed.rowCount === 1;
      if (apiKey) {
        await client.query('INSERT INTO api_keys (id, name, key_hash, permissions, created_at) VALUES ($1, $2, $3, $4, $5)', [
          row.id,
          row.name,
          row.key_hash,
          row.permissions,
          row.created_at,
        ]);
      }
      const account = await client.query(
        'INSERT INTO dashboard_users (username, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (username) DO NOTHING',
        [adminUsername, adminPasswordHash, at],
      );
      return { apiKey, account: account.rowCount === 1 };
    });
  }
}
