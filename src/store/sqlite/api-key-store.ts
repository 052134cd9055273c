import type { Db } from './db.ts';
import type { ApiKeyRow, ApiKeyStore } from '../stores.ts';

export class SqliteApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>): Promise<void> {
    this.db
      .prepare('INSERT INTO api_keys (id, name, key_hash, permissions, created_at) VALUES (@id, @name, @key_hash, @permissions, @created_at)')
      .run(row);
  }

  async findActiveByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    return this.db.prepare('SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL').get(keyHash) as ApiKeyRow | undefined;
  }

  async list(): Promise<ApiKeyRow[]> {
    return this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as ApiKeyRow[];
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  async touch(id: string, at: number): Promise<void> {
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
  }
}
