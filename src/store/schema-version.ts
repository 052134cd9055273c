/**
 * The schema version of a store is the number of migration steps applied to it (SQLite: `PRAGMA user_version`;
 * PostgreSQL: `schema_version`). Nodes of two Pictor versions share one database during a rolling upgrade: the
 * newer one migrates it at its start, and the older ones keep running on it.
 *
 * Invariants that make this safe:
 * - A migration step only adds (tables, indexes, columns that are nullable or have a default): what an older
 *   node reads and writes keeps its meaning. test/store/schema.test.ts refuses steps that drop, rename or retype.
 * - A node never starts on a schema newer than its own: it would not know what the newer steps mean, nor
 *   that it must not undo them. It stops with SchemaTooNewError instead.
 */
export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `its schema is at version ${found}, newer than version ${known}, the newest this Pictor understands: a newer Pictor has ` +
        `migrated it. Start this node with that newer Pictor (see "Rolling upgrades" in docs/edges-and-cluster.md).`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Refuses a store whose schema has more steps than this build knows. */
export function checkSchemaVersion(found: number, known: number): void {
  if (found > known) throw new SchemaTooNewError(found, known);
}
