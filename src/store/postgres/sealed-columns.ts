import type { SecretBox } from '../secret-box.ts';
import { resealed, SEALED_COLUMNS, sealedColumnSql, valueKeyIds, type SealedValue } from '../sealed-columns.ts';
import type { PgClient, PgPool } from './database.ts';

const PLACEHOLDERS = ['$1', '$2', '$3'] as const;

type Queryable = Pick<PgPool, 'query'> | PgClient;

async function values(db: Queryable, select: string): Promise<SealedValue[]> {
  return (await db.query<SealedValue>(select)).rows;
}

/**
 * Opens every value of the sealed columns (proving the keys: a SecretKeyError otherwise) and seals again,
 * with the current key, those sealed with another; inside the caller's transaction. Answers how many.
 */
export async function resealColumns(client: PgClient, box: SecretBox): Promise<number> {
  let count = 0;
  for (const sealed of SEALED_COLUMNS) {
    const { select, update } = sealedColumnSql(sealed, PLACEHOLDERS);
    for (const stored of await values(client, select)) {
      const fresh = resealed(sealed, stored, box);
      if (fresh !== undefined) count += (await client.query(update, [fresh, stored.id, stored.value])).rowCount ?? 0;
    }
  }
  return count;
}

/** Opens every value of the sealed columns: a SecretKeyError when the keys cannot. */
export async function openColumns(db: Queryable, box: SecretBox): Promise<void> {
  for (const sealed of SEALED_COLUMNS) {
    for (const stored of await values(db, sealedColumnSql(sealed, PLACEHOLDERS).select)) box.open(stored.value, sealed.context(stored.id));
  }
}

/** The ids of the keys that sealed the values of the sealed columns, added to `into`. */
export async function columnKeyIds(db: Queryable, into: Set<string>): Promise<Set<string>> {
  for (const sealed of SEALED_COLUMNS) valueKeyIds(await values(db, sealedColumnSql(sealed, PLACEHOLDERS).select), into);
  return into;
}
