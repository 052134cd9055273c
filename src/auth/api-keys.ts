import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRow, ApiKeyStore } from '../store/stores.ts';
import { storeFault } from '../store/store-errors.ts';

/** imgix's permission set, by the names the CLI and the API use. `admin` implies every other one, `assets-edit` `assets-browse`. */
export const PERMISSIONS = ['purge', 'sources', 'analytics', 'assets-browse', 'assets-edit', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface ApiKey {
  id: string;
  name: string;
  permissions: Permission[];
  createdAt: Date;
  lastUsedAt: Date | undefined;
  revokedAt: Date | undefined;
}

const KEY_FORMAT = /^ak_[0-9a-f]{64}$/;
/** Persist last-used times at most this often per key: a purge storm must not turn into a write storm. */
const TOUCH_INTERVAL_MS = 60_000;

export function parsePermissions(list: string): Permission[] {
  const names = list.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new Error(`--permissions needs at least one of ${PERMISSIONS.join(', ')}`);
  for (const name of names) {
    if (!(PERMISSIONS as readonly string[]).includes(name)) {
      throw new Error(`unknown permission "${name}"; expected some of ${PERMISSIONS.join(', ')}`);
    }
  }
  return [...new Set(names)] as Permission[];
}

/** A new key and the row that stores it (its digest, never the key): the key is shown once, by whoever stores the row. */
export function newApiKey(name: string, permissions: Permission[]): { key: string; row: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'> } {
  if (!name.trim()) throw new Error('a key needs a name');
  const key = `ak_${randomBytes(32).toString('hex')}`;
  const id = randomBytes(12).toString('hex');
  return { key, row: { id, name: name.trim(), key_hash: digest(key), permissions: permissions.join(','), created_at: Date.now() } };
}

/**
 * API keys are `ak_` + 64 random hex digits. Only a SHA-256 digest is stored: with 256 bits of entropy a
 * key needs no salt or slow hash, and a leaked database reveals no usable key. Lookup is by digest, and
 * the digest found is compared again in constant time.
 */
export class ApiKeys {
  private readonly touchedAt = new Map<string, number>();

  constructor(private readonly store: ApiKeyStore) {}

  async create(name: string, permissions: Permission[]): Promise<{ key: string; record: ApiKey }> {
    const { key, row } = newApiKey(name, permissions);
    await this.store.insert(row);
    return { key, record: toApiKey({ ...row, last_used_at: null, revoked_at: null }) };
  }

  /** The active key for a bearer token, or undefined. Never throws on malformed input. */
  async verify(token: string | undefined): Promise<ApiKey | undefined> {
    if (token === undefined || !KEY_FORMAT.test(token)) return undefined;
    const hash = digest(token);
    const row = await this.store.findActiveByHash(hash);
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    await this.touch(row.id);
    return toApiKey(row);
  }

  async list(): Promise<ApiKey[]> {
    return (await this.store.list()).map(toApiKey);
  }

  async revoke(id: string): Promise<boolean> {
    return this.store.revoke(id, Date.now());
  }

  private async touch(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touchedAt.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.touchedAt.set(id, now);
    try {
      await this.store.touch(id, now);
    } catch (error) {
      // "Last used" is bookkeeping: a store that cannot write now must not refuse the caller.
      if (!storeFault(error)) throw error;
    }
  }
}

/** Permissions another one includes, as at imgix: Asset Manager Edit may browse too. */
const IMPLIED_BY: Partial<Record<Permission, Permission>> = { 'assets-browse': 'assets-edit' };

export function hasPermission(key: ApiKey, permission: Permission): boolean {
  const implied = IMPLIED_BY[permission];
  return key.permissions.includes(permission) || (implied !== undefined && key.permissions.includes(implied)) || key.permissions.includes('admin');
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    permissions: row.permissions.split(',').filter(Boolean) as Permission[],
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
    revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
  };
}
