import type { Db } from './db.ts';

export interface ApiKeyRow {
  id: string;
  name: string;
  key_hash: string;
  permissions: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export class ApiKeyStore {
  constructor(private readonly db: Db) {}

  insert(row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>): void {
    this.db
      .prepare('INSERT INTO api_keys (id, name, key_hash, permissions, created_at) VALUES (@id, @name, @key_hash, @permissions, @created_at)')
      .run(row);
  }

  findActiveByHash(keyHash: string): ApiKeyRow | undefined {
    return this.db.prepare('SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL').get(keyHash) as ApiKeyRow | undefined;
  }

  list(): ApiKeyRow[] {
    return this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as ApiKeyRow[];
  }

  revoke(id: string, at: number): boolean {
    return this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  touch(id: string, at: number): void {
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
  }
}
