import type { SecretBox } from '../secret-box.ts';
import { resealed, SEALED_COLUMNS, sealedColumnSql, valueKeyIds, type SealedValue } from '../sealed-columns.ts';
import type { Db } from './db.ts';

const PLACEHOLDERS = ['?', '?', '?'] as const;

function values(db: Db, select: string): SealedValue[] {
  return db.prepare(select).all() as SealedValue[];
}

/**
 * Opens every value of the sealed columns (proving the keys: a SecretKeyError otherwise) and seals again,
 * with the current key, those sealed with another; inside the caller's transaction. Answers how many.
 */
export function resealColumns(db: Db, box: SecretBox): number {
  let count = 0;
  for (const sealed of SEALED_COLUMNS) {
    const { select, update } = sealedColumnSql(sealed, PLACEHOLDERS);
    const write = db.prepare(update);
    for (const stored of values(db, select)) {
      const fresh = resealed(sealed, stored, box);
      if (fresh !== undefined) count += write.run(fresh, stored.id, stored.value).changes;
    }
  }
  return count;
}

/** Opens every value of the sealed columns: a SecretKeyError when the keys cannot. */
export function openColumns(db: Db, box: SecretBox): void {
  for (const sealed of SEALED_COLUMNS) {
    for (const stored of values(db, sealedColumnSql(sealed, PLACEHOLDERS).select)) box.open(stored.value, sealed.context(stored.id));
  }
}

/** The ids of the keys that sealed the values of the sealed columns, added to `into`. */
export function columnKeyIds(db: Db, into: Set<string>): Set<string> {
  for (const sealed of SEALED_COLUMNS) valueKeyIds(values(db, sealedColumnSql(sealed, PLACEHOLDERS).select), into);
  return into;
}
