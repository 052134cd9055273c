import { sealedKeyId, type SecretBox } from './secret-box.ts';
import { webhookSecretContext } from './webhook-store.ts';

/**
 * Secrets stored one to a column, sealed with the same keys as Source secrets (secret-box.ts). Source secrets
 * live inside `deployment` and have their own code (source-secrets.ts), and so do edge secrets, a JSON object of
 * sealed values per edge (edge-secrets.ts); every other sealed column is listed here.
 *
 * Security invariant: a sealed column is on this list. Rotation (`SourceStore.sealAll`), the start-up key check
 * (the same `sealAll`, which opens every value) and the key ids a missing key file is checked against all go
 * through it (edge secrets through their own code beside it, in each backend's source-store.ts): a sealed
 * column left off would keep an old key after a rotation and stop opening once that key is removed, with
 * nothing refusing the start that removed it.
 */
export interface SealedColumn {
  table: string;
  /** The row's id column, whose value the sealed value is bound to. */
  key: string;
  column: string;
  /** What a value is bound to when sealed (the AES-GCM associated data). */
  context(id: string): string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [{ table: 'webhooks', key: 'id', column: 'secret', context: webhookSecretContext }];

/** One stored value of a sealed column. */
export interface SealedValue {
  id: string;
  value: string;
}

/** The statements each backend runs for a column (identifiers from SEALED_COLUMNS only, never from input). */
export function sealedColumnSql(sealed: SealedColumn, placeholders: readonly [string, string, string]): { select: string; update: string } {
  const { table, key, column } = sealed;
  const [value, id, old] = placeholders;
  return {
    select: `SELECT ${key} AS id, ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL`,
    // Only if unchanged since it was read: a value written meanwhile is already sealed with a current key.
    update: `UPDATE ${table} SET ${column} = ${value} WHERE ${key} = ${id} AND ${column} = ${old}`,
  };
}

/**
 * Opens a stored value (a SecretKeyError when the keys cannot: unknown key, altered or not sealed at all) and
 * answers its new sealed form when it is sealed with another key than the current one, else undefined.
 */
export function resealed(sealed: SealedColumn, stored: SealedValue, box: SecretBox): string | undefined {
  const plaintext = box.open(stored.value, sealed.context(stored.id));
  return sealedKeyId(stored.value) === box.currentKeyId ? undefined : box.seal(plaintext, sealed.context(stored.id));
}

/** The ids of the keys that sealed these values (without opening them). */
export function valueKeyIds(values: Iterable<SealedValue>, into = new Set<string>()): Set<string> {
  for (const { value } of values) {
    const id = sealedKeyId(value);
    if (id !== undefined) into.add(id);
  }
  return into;
}
